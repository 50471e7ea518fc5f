"""Run a dataset through the engine for one configuration (retriever, answer mode, k).

Each question makes two public engine calls: ``search`` with k=max(10, k) for the paper ranking that
the retrieval metrics (nDCG@10 needs ten) are computed on, and ``ask`` for the answer, citations,
refusal and latency. Both use the same retriever settings, so the answer's sources are the first k
entries of that ranking; latency is the ``ask`` call alone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tqdm import tqdm

from rag.errors import RagError
from rag.evaluation.dataset import EvalItem
from rag.evaluation.metrics import QuestionResult

RETRIEVERS = ("dense", "bm25", "hybrid")
LLM_MODES = ("auto", "openai", "local", "extractive")


@dataclass(frozen=True)
class EvalConfig:
    """One configuration to evaluate; ``None`` means the engine's setting (RAG_RETRIEVER, RAG_LLM)."""

    retriever: str | None = None
    llm: str | None = None
    k: int = 5

    @property
    def label(self) -> str:
        parts = [f"retriever={self.retriever}" if self.retriever else "", f"llm={self.llm}" if self.llm else ""]
        return ",".join(p for p in parts if p) + f",k={self.k}" if any(parts) else f"k={self.k}"

    @property
    def slug(self) -> str:
        return self.label.replace("=", "-").replace(",", "_")

    @classmethod
    def parse(cls, text: str, default: EvalConfig | None = None) -> EvalConfig:
        """``"retriever=dense,llm=extractive,k=3"``; unspecified keys come from ``default``."""
        base = default or cls()
        values: dict = {"retriever": base.retriever, "llm": base.llm, "k": base.k}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or key not in values:
                raise RagError(f"bad --compare value {text!r}: use key=value pairs with keys retriever, llm, k")
            if key == "retriever" and value not in RETRIEVERS:
                raise RagError(f"bad --compare value {text!r}: retriever must be one of {', '.join(RETRIEVERS)}")
            if key == "llm" and value not in LLM_MODES:
                raise RagError(f"bad --compare value {text!r}: llm must be one of {', '.join(LLM_MODES)}")
            if key == "k":
                if not value.isdigit() or not 1 <= int(value) <= 50:
                    raise RagError(f"bad --compare value {text!r}: k must be an integer from 1 to 50")
                value = int(value)
            values[key] = value
        return cls(**values)


def run_one(engine, item: EvalItem, config: EvalConfig, judge=None) -> QuestionResult:
    """Ask one question; a RagError is re-raised naming the question so the user can fix the dataset."""
    try:
        ranking = engine.search(item.question, k=max(10, config.k), retriever=config.retriever)
        answer = engine.ask(item.question, k=config.k, llm=config.llm, retriever=config.retriever)
    except RagError as exc:
        raise type(exc)(f"question {item.id!r} (line {item.line}): {exc}") from None
    result = QuestionResult(
        id=item.id, kind=item.kind, question=item.question, expected_titles=item.expected_titles,
        ranking=[{"title": h.title, "score": round(h.score, 6)} for h in ranking],
        sources=[h.title for h in answer.sources], cited=[c.title for c in answer.citations],
        refused=answer.refused, answer=answer.text, latency_ms=round(answer.timings_ms.get("total", 0.0), 1),
        mode=answer.mode, answer_keywords=item.answer_keywords, notice=answer.notice,
    )
    if judge is not None and not answer.refused and answer.citations:
        result.faithfulness = judge.faithfulness(answer)
    return result


def run_config(engine, items: list[EvalItem], config: EvalConfig, progress: bool = True, judge=None,
               desc: str = "eval") -> list[QuestionResult]:
    """All questions for one configuration, in dataset order, with a progress bar on stderr."""
    bar = tqdm(items, desc=desc, unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    return [run_one(engine, item, config, judge) for item in bar]
