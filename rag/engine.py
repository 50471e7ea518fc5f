"""The engine: the one Python API that the CLI, UI, HTTP API and eval harness all call.

Components (Chroma, the embedding model, BM25, LLM backends) are created lazily and cached on the
instance, so an ``Engine`` is cheap to build and commands pay only for what they use. There is no
module-level state: two engines with different settings coexist in one process.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from rag.answer import extractive
from rag.answer.citations import map_citations
from rag.config import REFUSAL, LLMMode, RetrieverMode, Settings, get_settings
from rag.errors import BadQuestion, EmptyIndex
from rag.types import Answer, AnswerStream, Filters, Hit, IngestReport, final_answer

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Engine:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._ingest_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides) -> Engine:
        """Engine from a Settings object, with keyword overrides (e.g. ``index_dir=...``)."""
        base = settings or get_settings()
        return cls(base.model_copy(update=overrides) if overrides else base)

    @classmethod
    def from_env(cls) -> Engine:
        return cls(get_settings())

    # --- components ---------------------------------------------------------------------------
    @cached_property
    def store(self):
        from rag.store import Store

        return Store(self.settings)

    @cached_property
    def embedder(self):
        from rag.embed import Embedder

        return Embedder(self.settings)

    @cached_property
    def bm25(self):
        from rag.bm25 import BM25Index

        return BM25Index(self.settings, self.store)

    @cached_property
    def sentence_warmup(self):
        """The background thread that persists every abstract sentence's vector (rag.embed), and its stop event."""
        from rag.embed import warm_index_sentences

        return warm_index_sentences(self)

    @cached_property
    def gate(self):
        from rag.refusal import Gate

        return Gate(self.embedder, self.bm25, self.settings.refusal_threshold, self.settings.answerable_threshold)

    @cached_property
    def retriever(self):
        from rag.retrieve import Retriever

        return Retriever(self.settings, self.store, self.embedder, self.bm25)

    # --- ingest ---------------------------------------------------------------------------------
    def ingest(self, paths: list[Path | str] | None = None, prune: bool = False, progress: bool = False) -> IngestReport:
        """Add new and changed papers from ``paths`` (default: the configured corpus directory)."""
        from rag.ingest.pipeline import ingest

        targets = [Path(p) for p in (paths or [self.settings.corpus_dir])]
        with self._ingest_lock:
            report = ingest(targets, self.store, self.embedder, prune=prune, progress=progress)
            self.bm25.refresh()
        return report

    def stats(self) -> dict:
        table = self.store.chunk_table()
        papers = {str(m.get("paper_id")) for m in table.values()}
        sources = sorted({s for m in table.values() for s in str(m.get("sources", "")).split("|") if s})
        return {
            "papers": len(papers),
            "chunks": len(table),
            "sources": sources,
            "index_dir": self.store.location,
            "embed_model": self.settings.embed_model,
        }

    def is_empty(self) -> bool:
        return self.store.count() == 0

    # --- search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               retriever: RetrieverMode | None = None) -> list[Hit]:
        query = self.clean_question(query)
        if self.store.count() == 0:
            raise EmptyIndex("The index is empty: run `rag ingest` first.")
        return self.retriever.search(query, k=k, filters=filters, mode=retriever)

    def clean_question(self, question: str) -> str:
        text = _CONTROL.sub(" ", question or "").strip()
        if not text:
            raise BadQuestion("The question is empty: type a question about the indexed papers.")
        if len(text) > self.settings.max_question_chars:
            raise BadQuestion(
                f"The question is too long ({len(text):,} characters; the limit is "
                f"{self.settings.max_question_chars:,}, RAG_MAX_QUESTION_CHARS)."
            )
        return text

    def score_sentences(self, question: str, hits: list[Hit]) -> list[extractive.Scored]:
        """Every abstract sentence of ``hits`` scored as evidence for ``question`` (rag.answer.extractive),
        with the corpus IDF of this engine's BM25 index weighting the question's words."""
        return extractive.score_sentences(question, hits, self.embedder, self.gate.idf()) if hits else []

    # --- answers --------------------------------------------------------------------------------
    def resolve_mode(self, llm: LLMMode | None = None) -> str:
        from rag.llm import resolve_mode

        return resolve_mode(llm or self.settings.llm, self.settings)

    def available_modes(self) -> list[str]:
        from rag.llm import available_modes

        return available_modes(self.settings)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None,
            llm: LLMMode | None = None, history: list[tuple[str, str]] | None = None,
            retriever: RetrieverMode | None = None) -> Answer:
        """Retrieve, answer and cite. Always returns an Answer (refusals and fallbacks included)."""
        return final_answer(self.stream(question, k=k, filters=filters, llm=llm, history=history, retriever=retriever))

    def stream(self, question: str, k: int | None = None, filters: Filters | None = None,
               llm: LLMMode | None = None, history: list[tuple[str, str]] | None = None,
               retriever: RetrieverMode | None = None, standalone: str | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as they are produced, then the final structured :class:`Answer`."""
        from rag.answer import compose as composer
        from rag.answer.intent import COMPARE, LIST, OVERVIEW, detect

        t0 = time.perf_counter()
        question = self.clean_question(question)
        query = standalone or question
        mode = self.resolve_mode(llm)
        self.sentence_warmup  # noqa: B018 - started on the first answer, once per engine
        k = k or self.settings.top_k
        intent = detect(query)
        # A list, overview or comparison looks deeper than the k papers shown: k is what is shown, not a cap
        # on how complete the answer is (extra papers are shown only when the answer cites them).
        depth = k * composer.DEPTH if intent.kind in (LIST, OVERVIEW, COMPARE) else k
        candidates = self.search(query, k=depth, filters=filters, retriever=retriever)
        hits = candidates[:k]
        t_retrieve = (time.perf_counter() - t0) * 1000
        answer = Answer(question=question, text="", sources=hits, mode=mode, standalone_question=query)
        t1 = time.perf_counter()
        scored_all = self.score_sentences(query, candidates)
        scored = [s for s in scored_all if s.source <= len(hits)]
        if self.gate.decide(query, hits, scored).refuse:
            answer.text, answer.refused = REFUSAL, True
            answer.mode = mode
            yield answer.text
        elif mode == "extractive":
            yield from self._extractive(answer, scored_all, candidates, intent)
        else:
            from rag.answer.generate import generate

            if mode == "openai" and len(candidates) > len(hits):  # the model writes from the same deeper evidence
                scored = self._widen(answer, scored_all, candidates, intent)
            yield from generate(self, answer, scored, history or [])
        answer.timings_ms = {"retrieve": t_retrieve, "generate": (time.perf_counter() - t1) * 1000,
                             "total": (time.perf_counter() - t0) * 1000}
        yield answer

    def answer_stream(self, question: str, **options) -> AnswerStream:
        """:meth:`stream` as a typed :class:`AnswerStream`: iterate for text deltas, then ``.answer``."""
        return AnswerStream(self.stream(question, **options))

    def compose(self, answer: Answer, scored: list, candidates: list[Hit] | None = None, intent=None):
        """The question-aware composition (rag.answer.compose) for ``answer``, over ``candidates`` (default:
        its sources). Cited candidates beyond the sources are appended to ``answer.sources`` (renumbered),
        so every [n] of the result indexes ``answer.sources``."""
        from rag.answer import compose as composer
        from rag.answerable import named_sources

        question = answer.standalone_question or answer.question
        pool = candidates or answer.sources
        shown = len(answer.sources)
        comp = composer.compose_answer(question, pool, scored, intent, named=named_sources(question, pool),
                                       similarity=self._similarity, idf=self.gate.idf())
        extra = sorted(n for n in comp.papers if n > shown)
        mapping = {n: n for n in range(1, shown + 1)} | {n: shown + i for i, n in enumerate(extra, start=1)}
        answer.sources = list(answer.sources[:shown]) + [pool[n - 1] for n in extra]
        return comp.renumbered(mapping)

    def _widen(self, answer: Answer, scored: list, candidates: list[Hit], intent) -> list:
        """Add the candidates the composition cites to ``answer.sources``; the evidence renumbered to match."""
        from dataclasses import replace

        shown = len(answer.sources)
        self.compose(answer, scored, candidates, intent)
        position = {id(h): n for n, h in enumerate(candidates, start=1)}
        mapping = {position[id(h)]: n for n, h in enumerate(answer.sources, start=1) if id(h) in position}
        mapping.update({n: n for n in range(1, shown + 1)})
        return [replace(s, source=mapping[s.source]) for s in scored if s.source in mapping]

    def _similarity(self, texts: list[str]):
        vectors = self.embedder.embed_sentences(texts)
        return (vectors @ vectors.T).tolist()

    def _extractive(self, answer: Answer, scored: list, candidates: list[Hit] | None = None,
                    intent=None) -> Iterator[str]:
        """Fill ``answer`` with the extractive composition; yields the text once. Nothing quotable (every
        relevant sentence was an instruction to the reader, say) is a refusal, not an empty answer."""
        comp = self.compose(answer, scored, candidates, intent)
        if comp.empty:
            answer.text, answer.refused, answer.citations = REFUSAL, True, []
            yield answer.text
            return
        mapped = map_citations(comp.text, answer.sources)
        answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported
        answer.model = answer.model or "extractive"
        yield answer.text

    def chat(self, **options) -> ChatSession:
        """A new conversation; sessions are independent objects with their own history."""
        return ChatSession(self, **options)


class ChatSession:
    """One conversation: follow-ups are condensed into standalone questions before retrieval."""

    def __init__(self, engine: Engine, k: int | None = None, filters: Filters | None = None,
                 llm: LLMMode | None = None, max_turns: int = 6) -> None:
        self.engine = engine
        self.k = k
        self.filters = filters
        self.llm = llm
        self.max_turns = max_turns
        self.history: list[tuple[str, str]] = []  # (standalone question, answer text)

    def reset(self) -> None:
        self.history.clear()

    def stream(self, question: str, **overrides) -> Iterator[str | Answer]:
        from rag.chat import condense

        clean = self.engine.clean_question(question)
        mode = self.engine.resolve_mode(overrides.get("llm", self.llm))
        standalone = condense(self.engine, clean, self.history, mode)
        stream = self.engine.answer_stream(
            clean, k=overrides.get("k", self.k), filters=overrides.get("filters", self.filters),
            llm=overrides.get("llm", self.llm), history=self.history[-self.max_turns:], standalone=standalone,
        )
        yield from stream
        answer = stream.answer
        self.history.append((answer.standalone_question or clean, answer.text))
        yield answer

    def answer_stream(self, question: str, **overrides) -> AnswerStream:
        """:meth:`stream` as a typed :class:`AnswerStream` (the turn joins the history when it ends)."""
        return AnswerStream(self.stream(question, **overrides))

    def ask(self, question: str, **overrides) -> Answer:
        return final_answer(self.stream(question, **overrides))
