"""The engine: the one Python API that the CLI, UI, HTTP API and eval harness all call.

Components (Chroma, the embedding model, BM25, LLM backends) are passed in or created lazily from the
settings and kept on the instance, so an ``Engine`` is cheap to build and commands pay only for what they
use. Components receive what they need explicitly (the answer service, :mod:`rag.answer.service`, gets
the embedder, the gate and the backends); none reaches back into the engine. There is no module-level
state: two engines with different settings coexist in one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.answer.citations import Renumber
from rag.answer.extractive import Scored
from rag.config import LLMMode, RetrieverMode, Settings, get_settings
from rag.errors import IndexUnavailable
from rag.language import detect_language, english_only_notice
from rag.llm.base import Backend
from rag.llm.registry import Backends, available_modes, resolve_mode
from rag.question import clean_question, fit_query
from rag.session import ChatSession
from rag.types import Answer, AnswerStream, Filters, Hit, IngestReport, final_answer

if TYPE_CHECKING:
    from rag.answer.service import Answerer
    from rag.bm25 import BM25Index
    from rag.embed import Embedder
    from rag.index_guard import IndexGuard
    from rag.store import Store

class Engine:
    def __init__(self, settings: Settings | None = None, *, store: Store | None = None,
                 embedder: Embedder | None = None, bm25: BM25Index | None = None,
                 backends: Mapping[str, Backend] | None = None) -> None:
        """``store``, ``embedder``, ``bm25``: components to use as they are (e.g. one loaded index and model
        shared by several engines); the others are built from ``settings`` on first use. ``backends``: LLM
        backends by answer mode, used instead of the registry's (rag.llm.registry)."""
        self.settings = settings or get_settings()
        self._ingest_lock = threading.Lock()
        self.backends = Backends(self.settings, backends)
        # A given component takes the place of its cached property below (which builds it otherwise).
        if store is not None:
            self.store = store
        if embedder is not None:
            self.embedder = embedder
        if bm25 is not None:
            self.bm25 = bm25

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
    def store(self) -> Store:
        from rag.store import Store

        return Store(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        from rag.embed import Embedder

        return Embedder(self.settings)

    @cached_property
    def bm25(self) -> BM25Index:
        from rag.bm25 import BM25Index

        return BM25Index(self.settings, self.store)

    @cached_property
    def sentence_warmup(self):
        """The background thread that persists every abstract sentence's vector (rag.embed), and its stop event."""
        from rag.answer.sentence_warmup import index_sentences
        from rag.embed import start_warming

        return start_warming(self.embedder, lambda: index_sentences(self.store))

    @cached_property
    def gate(self):
        from rag.refusal import Gate

        return Gate(self.bm25, self.settings.gate_model, self.settings.refusal_threshold)

    @cached_property
    def index_guard(self) -> IndexGuard:
        """The emptiness and embedder check of :meth:`search`, counted once per collection revision."""
        from rag.index_guard import IndexGuard

        return IndexGuard(self.store, self.embedder)

    @cached_property
    def retriever(self):
        from rag.retrieve import Retriever

        return Retriever(self.settings, self.store, self.embedder, self.bm25)

    @cached_property
    def answerer(self) -> Answerer:
        from rag.answer.service import Answerer

        return Answerer(self.settings, self.embedder, self.gate, self.backends)

    # --- ingest ---------------------------------------------------------------------------------
    def ingest(self, paths: list[Path | str] | None = None, prune: bool = False, progress: bool = False,
               rebuild: bool = False, engine: Literal["serial", "ray"] = "serial", workers: int = 2,
               address: str | None = None) -> IngestReport:
        """Add new and changed papers from ``paths`` (default: the configured corpus directory).

        ``rebuild``: repair first (see :meth:`repair`): derived files (BM25, sentence vectors) are built
        again, and a Chroma store that cannot be read is moved aside and re-created from ``paths``.
        ``engine="ray"`` embeds on ``workers`` Ray actors (a local Ray, or the cluster at ``address``);
        the resulting index is the one the serial path builds (rag.ingest.distributed).
        """
        from rag.ingest.parse import ReadLimits
        from rag.ingest.pipeline import ingest

        targets = [Path(p) for p in (paths or [self.settings.corpus_dir])]
        batches = None
        if engine == "ray":
            from rag.ingest.distributed import ray_batches

            batches = ray_batches(self.settings, workers, address)
        elif engine != "serial":
            raise ValueError(f"unknown ingest engine {engine!r}: use serial or ray")
        with self._ingest_lock:
            if rebuild:
                self._repair()
            self.index_guard.forget()
            report = ingest(targets, self.store, self.embedder, prune=prune, progress=progress,
                            limits=ReadLimits.from_settings(self.settings), embed_batches=batches,
                            lexical=self.bm25)
            if rebuild:
                self.bm25.rebuild()
            else:
                self.bm25.refresh()
        return report

    def ingest_from_client(self, paths: list[str] | None = None, files: list[tuple[str, bytes]] | None = None,
                           records: list[dict] | None = None, source: str = "upload.jsonl",
                           prune: bool = False) -> IngestReport:
        """Ingest for an untrusted caller (``POST /v1/ingest``): uploaded ``files`` (name, bytes) and JSON
        ``records``, or server ``paths`` confined to RAG_INGEST_ROOT (regular files, size cap, read timeout).

        ``prune`` removes only papers whose every source is one this request names (its files' names, the
        uploads' names, ``source`` for records): a request cannot delete what it did not mention.
        """
        from rag.ingest.pipeline import ingest_papers
        from rag.ingest.uploads import client_papers

        t0 = time.perf_counter()
        papers, scope = client_papers(self.settings, paths, files, records, source)
        with self._ingest_lock:
            self.index_guard.forget()
            report = ingest_papers(papers, self.store, self.embedder, prune=prune, progress=False,
                                   scope=scope, t0=t0, lexical=self.bm25)
            self.bm25.refresh()
        return report

    def _repair(self) -> None:
        """Drop derived files (BM25, sentence vectors); move an unreadable embedded Chroma store aside."""
        from rag.bm25 import clear
        from rag.store import reset_client_cache

        clear(self.settings)
        for cached in ("bm25", "retriever", "gate", "answerer"):  # they hold the BM25 copy being replaced
            self.__dict__.pop(cached, None)
        self.embedder.sentence_store.discard()
        if self.settings.uses_chroma_server:
            return
        try:
            self.store.count()
            self.store.get_revision()
        except IndexUnavailable:
            chroma = self.settings.index_dir / "chroma"
            aside = chroma.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            if chroma.exists():
                chroma.rename(aside)
            for cached in ("store", "retriever", "index_guard"):
                self.__dict__.pop(cached, None)
            reset_client_cache()

    def health(self) -> dict:
        """Index facts after a tiny search through each index an answer needs (rag.doctor.probe).

        Raises the one-line error of the first failing index; ``/healthz`` turns it into a 503.
        """
        from rag.doctor import probe

        stats = self.stats()
        if stats["chunks"]:
            probe(self.store, self.bm25)
        return stats

    def doctor(self) -> list[tuple[str, bool, str]]:
        """(check, passed, detail) for each part of the index, for ``rag doctor``. Never raises."""
        from rag.doctor import run_checks

        return run_checks(lambda: self.store, lambda: self.embedder, lambda: self.bm25)

    def stats(self) -> dict:
        """Papers, chunks, source files, index location and embedding model (``rag stats``, ``/healthz``)."""
        table = self.store.chunk_table()
        papers = {str(m.get("paper_id")) for m in table.values()}
        sources = sorted({s for m in table.values() for s in str(m.get("sources", "")).split("|") if s})
        return {"papers": len(papers), "chunks": len(table), "sources": sources, "index_dir": self.store.location,
                "embed_model": self.settings.embed_model}

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` from this engine's embedding model (served as ``POST /v1/embeddings``)."""
        return self.embedder.embed_texts(list(texts))

    def catalog(self) -> dict:
        """Readable labels of the corpus files and the papers' years (rag.catalog), for filter choices."""
        from rag.catalog import build

        return build(self.store.chunk_table(), self.settings.corpus_dir)

    # --- feedback -------------------------------------------------------------------------------
    def record_feedback(self, question: str, answer: str, citations: list[dict], liked: bool, **extra) -> dict:
        """Store a thumbs up/down with what was judged, as JSONL in the index folder (rag.feedback)."""
        from rag.feedback import record

        return record(self.settings.index_dir, question, answer, citations, liked, **extra)

    def feedback(self) -> list[dict]:
        """Every stored vote, oldest first (``rag feedback``)."""
        from rag.feedback import read

        return read(self.settings.index_dir)

    def is_empty(self) -> bool:
        return self.store.count() == 0

    # --- search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               retriever: RetrieverMode | None = None) -> list[Hit]:
        """The top ``k`` papers. EmptyIndex on an empty index; the chunks are counted once per collection
        revision, not per query (rag.index_guard), and again when an unfiltered search finds nothing."""
        query = self.clean_question(query)
        self.index_guard.check()
        hits = self.retriever.search(query, k=k, filters=filters, mode=retriever)
        if not hits and (filters is None or filters.is_empty()):
            self.index_guard.confirm()
        return hits

    def paper(self, title: str) -> Hit | None:
        """The indexed paper with exactly this ``title``, or None."""
        from rag.retrieve import paper_hit
        self.index_guard.check()
        return paper_hit(self.store, title)

    def clean_question(self, question: str) -> str:
        """``question`` ready for retrieval (rag.question); BadQuestion when it cannot be used."""
        return clean_question(question, self.settings.max_question_chars)

    def score_sentences(self, question: str, hits: list[Hit]) -> list[Scored]:
        """Every abstract sentence of ``hits`` scored as evidence for ``question`` (rag.answer.extractive),
        with the corpus IDF of this engine's BM25 index weighting the question's words."""
        return self.answerer.score(question, hits)

    # --- answers --------------------------------------------------------------------------------
    def resolve_mode(self, llm: LLMMode | None = None) -> str:
        return resolve_mode(llm or self.settings.llm, self.settings)

    def available_modes(self) -> list[str]:
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
        from rag.answer import compose as composer
        from rag.answer.intent import COMPARE, LIST, OVERVIEW, detect

        t0 = time.perf_counter()
        question = self.clean_question(question)
        query = self.clean_question(fit_query(standalone, self.settings.max_question_chars)) if standalone else question
        mode = self.resolve_mode(llm)
        self.sentence_warmup  # noqa: B018 - started on the first answer, once per engine
        k = k or self.settings.top_k
        intent = detect(query)
        # A list, overview or comparison looks deeper than the k papers shown: k is what is shown, not a cap
        # on how complete the answer is (extra papers are shown only when the answer cites them).
        depth = k * composer.DEPTH if intent.kind in (LIST, OVERVIEW, COMPARE) and not about else k
        candidates = self.search(query, k=depth + len(exclude), filters=filters, retriever=retriever)
        candidates = [h for h in candidates if h.title not in exclude][:depth]
        if about:  # a follow-up about a cited paper answers from it, even when its own words retrieve others
            from rag.retrieve import pin
            candidates = pin(candidates, about, k, self.paper)
        hits = candidates[:k]
        t_retrieve = (time.perf_counter() - t0) * 1000
        answer = Answer(question=question, text="", sources=hits, mode=mode, standalone_question=query)
        answer.language = detect_language(question)
        t1 = time.perf_counter()
        renumber = Renumber(len(candidates))  # readers see [1], [2], … in order of first use, whatever the rank
        for delta in self.answerer.answer(answer, query, candidates, intent, mode, history or [], focus, about, avoid):
            if shown := renumber.feed(delta):
                yield shown
        if tail := renumber.flush():
            yield tail
        renumber.finish(answer)
        if answer.language != "en" and detect_language(answer.text) != answer.language:
            # Only a capable model is asked to answer in the question's language (rag.answer.prompt); say so
            # whenever the answer (a quote, a small model's, a refusal) is English anyway.
            answer.notice = " ".join(filter(None, [answer.notice, english_only_notice(answer.language)]))
        if answer.notice:  # upstream errors may echo request headers: never show a key to anyone
            from rag.security import redact

            answer.notice = redact(answer.notice, self.settings)
        answer.timings_ms = {"retrieve": t_retrieve, "generate": (time.perf_counter() - t1) * 1000,
                             "total": (time.perf_counter() - t0) * 1000}
        yield answer

    def answer_stream(self, question: str, **options) -> AnswerStream:
        """:meth:`stream` as a typed :class:`AnswerStream`: iterate for text deltas, then ``.answer``."""
        return AnswerStream(self.stream(question, **options))

    def chat(self, **options) -> ChatSession:
        """A new conversation; sessions are independent objects with their own history."""
        return ChatSession(self, **options)

