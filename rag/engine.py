"""The engine: the one Python API that the CLI, UI, HTTP API and eval harness all call.

Components (Chroma, the embedding model, BM25, LLM backends) are created lazily and cached on the
instance, so an ``Engine`` is cheap to build and commands pay only for what they use. There is no
module-level state: two engines with different settings coexist in one process.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from functools import cached_property
from pathlib import Path

from rag.answer import extractive
from rag.answer.citations import map_citations
from rag.config import REFUSAL, LLMMode, RetrieverMode, Settings, get_settings
from rag.errors import BadQuestion, EmptyIndex
from rag.types import Answer, Filters, Hit, IngestReport, final_answer

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
               retriever: RetrieverMode | None = None, standalone: str | None = None, focus: str | None = None,
               about: Collection[str] = (), exclude: Collection[str] = (),
               avoid: Sequence[str] = ()) -> Iterator[str | Answer]:
        """Yield text deltas as they are produced, then the final structured :class:`Answer`.

        Chats (:class:`ChatSession`) pass what condensation decided: ``standalone`` is searched for;
        ``focus`` is the question the evidence must answer (default ``standalone``); ``about`` are the
        titles a follow-up refers to (its answer quotes only them, or says they do not answer);
        ``exclude`` are titles not to retrieve; sentences of the ``avoid`` texts (earlier answers) are
        not quoted again.
        """
        t0 = time.perf_counter()
        question = self.clean_question(question)
        query = standalone or question
        mode = self.resolve_mode(llm)
        self.sentence_warmup  # noqa: B018 - started on the first answer, once per engine
        k = k or self.settings.top_k
        hits = self.search(query, k=k + len(exclude), filters=filters, retriever=retriever)
        hits = [h for h in hits if h.title not in exclude][:k]
        t_retrieve = (time.perf_counter() - t0) * 1000
        answer = Answer(question=question, text="", sources=hits, mode=mode, standalone_question=query)
        t1 = time.perf_counter()
        scored = self.score_sentences(query, hits)
        evidence = self._evidence(focus, query, hits, scored, about, avoid)
        numbers = [i for i, h in enumerate(hits, start=1) if h.title in about]
        refuse = self.gate.decide(query, hits, scored).refuse
        if numbers and not evidence:
            yield from self._not_stated(answer, focus or query, numbers[0])
        elif numbers and (refuse or mode == "extractive"):
            # A follow-up about the paper just cited: whether the corpus holds an answer is settled;
            # the question is what that abstract says. Quote its closest sentence, saying first when
            # the asked-for thing is not in it (or the gate found the abstract does not answer).
            yield from self._extractive(answer, evidence, self._lead(focus or query, hits, evidence, numbers, refuse))
        elif refuse or not evidence:
            answer.text, answer.refused = REFUSAL, True
            answer.mode = mode
            yield answer.text
        elif mode == "extractive":
            yield from self._extractive(answer, evidence)
        else:
            from rag.answer.generate import generate

            yield from generate(self, answer, evidence, history or [])
        answer.timings_ms = {"retrieve": t_retrieve, "generate": (time.perf_counter() - t1) * 1000,
                             "total": (time.perf_counter() - t0) * 1000}
        yield answer

    def _evidence(self, focus: str | None, query: str, hits: list[Hit], scored: list[extractive.Scored],
                  about: Collection[str], avoid: Sequence[str]) -> list[extractive.Scored]:
        """The sentences an answer may quote: scored for ``focus`` (what a follow-up asks now), only from
        the ``about`` papers when a follow-up refers to one, never a sentence of an earlier answer."""
        if not (focus or about or avoid):
            return scored
        from rag.chat import repeats

        if focus and focus != query:
            scored = self.score_sentences(focus, hits)
        if about:
            numbers = {i for i, h in enumerate(hits, start=1) if h.title in about}
            if numbers:
                scored = [s for s in scored if s.source in numbers]
        return [s for s in scored if not repeats(s.sentence, list(avoid))]

    def _lead(self, ask: str, hits: list[Hit], evidence: list[extractive.Scored], numbers: list[int],
              refused: bool = False) -> str:
        """For a follow-up about a paper whose abstract does not mention what is asked (or, ``refused``,
        does not answer it), the sentence that says so, which the closest evidence follows; else ""."""
        from rag.chat import not_answered_lead, not_mentioned_lead, unmentioned

        paper = hits[numbers[0] - 1]
        thing = unmentioned(self, ask, paper, max(s.cos for s in evidence))
        if thing:
            return not_mentioned_lead(paper.title, thing)
        return not_answered_lead(paper.title) if refused else ""

    def _not_stated(self, answer: Answer, focus: str, number: int) -> Iterator[str]:
        """A follow-up about a paper whose abstract does not answer it: say so, citing that paper."""
        from rag.chat import not_stated

        mapped = map_citations(not_stated(answer.sources[number - 1].title, focus, number), answer.sources)
        answer.text, answer.citations = mapped.text, mapped.citations
        answer.model = answer.model or "extractive"
        yield answer.text

    def _extractive(self, answer: Answer, scored: list, lead: str = "") -> Iterator[str]:
        """Fill ``answer`` with the extractive composition (after ``lead``); yields the text once."""
        picked = extractive.compose_for(answer.standalone_question or answer.question, answer.sources, scored)
        if lead:
            picked = picked[:1]
        mapped = map_citations(lead + extractive.render(picked), answer.sources)
        answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported
        answer.model = answer.model or "extractive"
        yield answer.text

    def chat(self, **options) -> ChatSession:
        """A new conversation; sessions are independent objects with their own history."""
        return ChatSession(self, **options)


class ChatSession:
    """One conversation: each follow-up is condensed into a standalone question before retrieval.

    The session keeps, per turn, what the next follow-up needs (:class:`rag.chat.Turn`): the papers the
    answer cited (what "it" and "their" refer to), the question's frame (what "And for X?" reuses) and
    the answer text (whose sentences a follow-up does not quote again).
    """

    def __init__(self, engine: Engine, k: int | None = None, filters: Filters | None = None,
                 llm: LLMMode | None = None, max_turns: int = 6) -> None:
        from rag.chat import Turn

        self.engine = engine
        self.k = k
        self.filters = filters
        self.llm = llm
        self.max_turns = max_turns
        self.turns: list[Turn] = []

    @property
    def history(self) -> list[tuple[str, str]]:
        """(standalone question, answer text) per turn, oldest first: the LLM prompt's chat history."""
        return [(t.standalone, t.answer) for t in self.turns]

    @history.setter
    def history(self, pairs: list[tuple[str, str]]) -> None:
        from rag.chat import Turn

        self.turns = [Turn(question=q, standalone=q, answer=a) for q, a in pairs]

    def reset(self) -> None:
        self.turns.clear()

    def plan(self, question: str, llm: LLMMode | None = None):
        """How the next question would be searched for (:class:`rag.chat.Plan`), without answering it."""
        from rag.chat import condense

        clean = self.engine.clean_question(question)
        return condense(self.engine, clean, self.turns[-self.max_turns:], self.engine.resolve_mode(llm or self.llm))

    def stream(self, question: str, **overrides) -> Iterator[str | Answer]:
        from rag.chat import Turn

        clean = self.engine.clean_question(question)
        llm = overrides.get("llm", self.llm)
        plan = self.plan(clean, llm)
        answer = None
        for item in self.engine.stream(
            clean, k=overrides.get("k", self.k), filters=overrides.get("filters", self.filters), llm=llm,
            history=self.history[-self.max_turns:], standalone=plan.standalone, focus=plan.ask or None,
            about=plan.about, exclude=plan.exclude, avoid=[t.answer for t in self.turns],
        ):
            if isinstance(item, Answer):
                answer = item
            yield item
        if answer is not None:
            by_title = {h.title: h for h in answer.sources}
            self.turns.append(Turn(
                question=clean, standalone=answer.standalone_question or clean, answer=answer.text,
                cited=[c.title for c in answer.citations],
                papers=[by_title[c.title] for c in answer.citations if c.title in by_title],
                frame=plan.frame, kind=plan.kind))
            del self.turns[:-self.max_turns]

    def ask(self, question: str, **overrides) -> Answer:
        return final_answer(self.stream(question, **overrides))
