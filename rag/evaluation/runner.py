"""``rag eval``: run a dataset through the engine for each configuration (retriever, answer mode, k), then
write the reports.

Each question makes two public engine calls: ``search`` with k=max(10, k) for the paper ranking that
the retrieval metrics (nDCG@10 needs ten) are computed on, and ``ask`` for the answer, citations,
refusal and latency. Both use the same retriever settings, so the answer's sources are the first k
entries of that ranking; latency is the ``ask`` call alone.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from tqdm import tqdm

from rag.config import RetrieverMode
from rag.errors import RagError
from rag.evaluation.compare import write_compare
from rag.evaluation.dataset import EvalItem, check_titles, indexed_titles, load_dataset
from rag.evaluation.judge import make_judge
from rag.evaluation.metrics import QuestionResult, aggregate
from rag.evaluation.report import summary_table, write_run
from rag.llm.registry import mode_names

JUDGE_SKIPPED = "skipped (set RAG_JUDGE_BASE_URL and RAG_JUDGE_MODEL to an OpenAI-compatible endpoint to judge)."


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
            if key == "retriever" and value not in get_args(RetrieverMode):
                raise RagError(f"bad --compare value {text!r}: retriever must be one of "
                               f"{', '.join(get_args(RetrieverMode))}")
            if key == "llm" and value not in mode_names():
                raise RagError(f"bad --compare value {text!r}: llm must be one of {', '.join(mode_names())}")
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


def load_checked(engine, dataset: Path, limit: int | None = None, split: str | None = None) -> list[EvalItem]:
    """Load the dataset and check every expected title against the index before anything runs."""
    items = load_dataset(dataset, limit=limit, split=split)
    check_titles(items, indexed_titles(engine), str(dataset))
    return items


def evaluate(engine, items: list[EvalItem], config: EvalConfig, dataset_name: str, progress: bool = False,
             judge=None, desc: str = "eval") -> tuple[dict, list[QuestionResult]]:
    """Run one configuration and aggregate: (metrics.json dict, per-question results)."""
    results = run_config(engine, items, config, progress=progress, judge=judge, desc=desc)
    mode = engine.resolve_mode(config.llm)  # the requested mode; fallbacks are counted in the report
    return aggregate(results, dataset_name, mode), results


def _judge_note(judge) -> str:
    if judge is None:
        return JUDGE_SKIPPED
    if judge.error:
        return f"judge at the configured endpoint failed ({judge.error}); faithfulness is incomplete or missing."
    return f"judged by `{judge.model}` ({judge.calls} sentence checks)."


def main(engine, dataset: Path, llm: str | None = None, k: int = 5, out: Path = Path("out/eval"),
         limit: int | None = None, compare: list[str] | None = None, as_json: bool = False,
         split: str | None = None) -> dict:
    """Run ``rag eval``; returns metrics (one config) or {label: metrics} (``--compare``)."""
    dataset = Path(dataset)
    out = Path(out)
    base = EvalConfig(llm=llm, k=k)
    configs = [EvalConfig.parse(text, base) for text in compare or []] or [base]
    items = load_checked(engine, dataset, limit, split)
    judge = make_judge(engine.settings)
    progress = not as_json
    name = f"{dataset.name} ({split} split)" if split else dataset.name
    runs: dict[str, dict] = {}
    for config in configs:
        metrics, results = evaluate(engine, items, config, name, progress=progress, judge=judge, desc=config.label)
        target = out / config.slug if compare else out
        write_run(target, metrics, results, config.label, _judge_note(judge))
        runs[config.label] = metrics
        if not as_json:
            print(summary_table(metrics) + f"\n-> {target / 'report.md'}\n", file=sys.stdout)
    if compare:
        write_compare(out, runs, name)
        if not as_json:
            print(f"comparison -> {out / 'compare.md'}")
    result = runs if compare else next(iter(runs.values()))
    if as_json:
        print(json.dumps(result))
    return result
