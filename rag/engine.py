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
from typing import Literal

from rag.answer import extractive
from rag.answer.citations import Renumber, map_citations
from rag.config import REFUSAL, LLMMode, RetrieverMode, Settings, get_settings
from rag.errors import BadQuestion, CorpusError, EmptyIndex, IndexUnavailable, RagError
from rag.language import detect_language, english_only_notice
from rag.types import Answer, AnswerStream, Filters, Hit, IngestReport, final_answer

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _upload_name(name: str) -> str:
    """An uploaded file's source label: its base name only (no folders), printable, not empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _SURROGATE.sub("", _CONTROL.sub("", base)).strip().lstrip(".")
    return base[:120] or "upload.jsonl"


def fit_query(text: str, limit: int) -> str:
    """``text`` cut to its last ``limit`` characters at a word boundary.

    Why: a chain of short follow-ups makes the condensed question grow with every turn (each carries the
    previous one along); what retrieval needs is the latest question plus recent context, so the length
    limit applies to what is sent, and the oldest context is what gives way.
    """
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    cut = tail.find(" ")
    return tail[cut + 1:] if 0 <= cut < limit // 2 else tail


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
        from rag.answer.sentence_warmup import warm_index_sentences

        return warm_index_sentences(self)

    @cached_property
    def gate(self):
        from rag.refusal import Gate

        return Gate(self.bm25, self.settings.gate_model, self.settings.refusal_threshold)

    @cached_property
    def retriever(self):
        from rag.retrieve import Retriever

        return Retriever(self.settings, self.store, self.embedder, self.bm25)

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
            report = ingest(targets, self.store, self.embedder, prune=prune, progress=progress,
                            limits=ReadLimits.from_settings(self.settings), embed_batches=batches)
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
        from rag.ingest.parse import ReadLimits, decode_text, expand_paths, merge_papers, parse_file, parse_records, parse_text
        from rag.ingest.pipeline import ingest_papers

        t0 = time.perf_counter()
        limits = ReadLimits.from_settings(self.settings, confined=True)
        papers, scope = [], set()
        for path in expand_paths(paths or [], limits.root):
            papers += parse_file(path, limits=limits)
            scope.add(path.name)
        for name, data in files or []:
            label = _upload_name(name)
            if len(data) > limits.max_bytes:
                raise CorpusError(f"{label}: file is larger than the ingest limit of {limits.max_bytes:,} bytes "
                                  "(RAG_INGEST_MAX_FILE_BYTES)")
            papers += parse_text(decode_text(data, label), label, Path(label).suffix)
            scope.add(label)
        if records:
            label = _upload_name(source)
            papers += parse_records(records, label)
            scope.add(label)
        if not papers:
            raise CorpusError("Nothing to ingest: send records, files, or paths inside RAG_INGEST_ROOT.")
        with self._ingest_lock:
            report = ingest_papers(merge_papers(papers), self.store, self.embedder, prune=prune, progress=False,
                                   scope=scope, t0=t0)
            self.bm25.refresh()
        return report

    def _repair(self) -> None:
        """Drop derived files (BM25, sentence vectors); move an unreadable embedded Chroma store aside."""
        from rag.bm25 import clear
        from rag.store import reset_client_cache

        clear(self.settings)
        for cached in ("bm25", "retriever", "gate"):  # they hold the BM25 copy being replaced
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
            self.__dict__.pop("store", None)
            self.__dict__.pop("retriever", None)
            reset_client_cache()

    def health(self) -> dict:
        """Index facts after a tiny search through each index an answer needs (Chroma's vectors, BM25).

        Raises the one-line error of the first failing index; ``/healthz`` turns it into a 503.
        """
        stats = self.stats()
        if stats["chunks"]:
            # A stored vector, not an embedded question: the check exercises the vector index without
            # loading the embedding model, so it stays fast on a cold start.
            vector = self.store.sample_embedding()
            if vector is None or not self.store.query(vector, 1).get("ids", [[]])[0]:
                raise IndexUnavailable(f"The vector index at {self.store.location} returned nothing for a test "
                                       "search: repair it with `rag ingest --rebuild`.")
            self.bm25.search("health check paper model", 1, fixes=[])
        return stats

    def doctor(self) -> list[tuple[str, bool, str]]:
        """(check, passed, detail) for each part of the index, for ``rag doctor``. Never raises."""
        checks: list[tuple[str, bool, str]] = []

        def run(name: str, fn) -> object:
            try:
                detail = fn()
                checks.append((name, True, str(detail)))
                return detail
            except Exception as exc:
                message = str(exc) if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"
                checks.append((name, False, " ".join(message.split())[:300]))
                return None

        count = run("chroma", lambda: f"{self.store.count()} chunks at {self.store.location}")
        if count is not None:
            run("vector search", lambda: f"{len(self.store.query(self.embedder.embed_query('health'), 1)['ids'][0])} hit")

            def bm25() -> str:
                state = self.bm25._read_state()
                if state.get("revision") != self.store.get_revision():
                    return "stale (rebuilt on the next query or by `rag ingest --rebuild`)"
                retriever = self.bm25._load() if state.get("docs") else None
                return f"{int(retriever.bm25.scores['num_docs']) if retriever else 0} documents in {self.bm25.dir}"

            run("bm25", bm25)
        run("sentence cache", lambda: f"{self.embedder.sentence_store.check()} vectors in "
                                      f"{self.embedder.sentence_store.path}")
        return checks

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

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` from this engine's embedding model (served as ``POST /v1/embeddings``)."""
        return self.embedder.embed_texts(list(texts))

    def catalog(self) -> dict:
        """Readable labels of the corpus files and the papers' years (rag.catalog), for filter choices."""
        from rag import catalog

        return catalog.build(self.store.chunk_table(), self.settings.corpus_dir)

    # --- feedback -------------------------------------------------------------------------------
    def record_feedback(self, question: str, answer: str, citations: list[dict], liked: bool, **extra) -> dict:
        """Store a thumbs up/down with what was judged, as JSONL in the index folder (rag.feedback)."""
        from rag import feedback

        return feedback.record(self.settings.index_dir, question, answer, citations, liked, **extra)

    def feedback(self) -> list[dict]:
        """Every stored vote, oldest first (``rag feedback``)."""
        from rag import feedback

        return feedback.read(self.settings.index_dir)

    def is_empty(self) -> bool:
        return self.store.count() == 0

    # --- search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               retriever: RetrieverMode | None = None) -> list[Hit]:
        from rag.embed import check_index_embedder

        query = self.clean_question(query)
        count = self.store.count()
        if count == 0:
            raise EmptyIndex("The index is empty: run `rag ingest` first.")
        check_index_embedder(self.store, self.embedder, count=count)  # metadata already in memory: no round trip
        return self.retriever.search(query, k=k, filters=filters, mode=retriever)

    def clean_question(self, question: str) -> str:
        text = _CONTROL.sub(" ", question or "").strip()
        if _SURROGATE.search(text):
            raise BadQuestion("The question contains invalid characters (an unpaired UTF-16 surrogate such as "
                              "\\ud800): send it as valid UTF-8 text.")
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
        hits = candidates[:k]
        t_retrieve = (time.perf_counter() - t0) * 1000
        answer = Answer(question=question, text="", sources=hits, mode=mode, standalone_question=query)
        answer.language = detect_language(question)
        t1 = time.perf_counter()
        renumber = Renumber(len(candidates))  # readers see [1], [2], … in order of first use, whatever the rank
        for delta in self._answer(answer, query, candidates, intent, mode, history or [], focus, about, avoid):
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

    def _answer(self, answer: Answer, query: str, candidates: list[Hit], intent, mode: str,
                history: list[tuple[str, str]], focus: str | None = None, about: Collection[str] = (),
                avoid: Sequence[str] = ()) -> Iterator[str]:
        """Refuse, or answer in ``mode``; yields text deltas whose markers number sources by rank.

        The gate and follow-ups read the ``k`` papers shown (``answer.sources``); the composition of a
        list, overview or comparison reads every candidate and shows the ones it cites.
        """
        hits = answer.sources
        scored_all = self.score_sentences(query, candidates)
        scored = [s for s in scored_all if s.source <= len(hits)]
        evidence = self._evidence(focus, query, hits, scored, about, avoid)
        numbers = [i for i, h in enumerate(hits, start=1) if h.title in about]
        decision = self.gate.decide(query, hits, scored)
        refuse = decision.refuse
        if numbers and not evidence:
            yield from self._not_stated(answer, focus or query, numbers[0])
        elif numbers and (refuse or mode == "extractive"):
            # A follow-up about the paper just cited: whether the corpus holds an answer is settled;
            # the question is what that abstract says. Quote its closest sentence, saying first when
            # the asked-for thing is not in it (or the gate found the abstract does not answer).
            yield from self._follow_up(answer, evidence, self._lead(focus or query, hits, evidence, numbers, refuse))
        elif refuse or not evidence:
            answer.text, answer.refused = f"{REFUSAL} {decision.reason}".strip(), True
            answer.mode = mode
            yield answer.text
        elif mode == "extractive":
            yield from self._extractive(answer, self._evidence(focus, query, candidates, scored_all, (), avoid),
                                        candidates, intent)
        else:
            from rag.answer.generate import generate

            if mode == "openai" and len(candidates) > len(hits):  # the model writes from the same deeper evidence
                evidence = self._widen(answer, scored_all, candidates, intent)
            yield from generate(self, answer, evidence, history)

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

    def _follow_up(self, answer: Answer, scored: list, lead: str = "") -> Iterator[str]:
        """A follow-up about the paper just cited: its best sentences (after ``lead``); yields the text once."""
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

    def answer_stream(self, question: str, **overrides) -> AnswerStream:
        """:meth:`stream` as a typed :class:`AnswerStream` (the turn joins the history when it ends)."""
        return AnswerStream(self.stream(question, **overrides))

    def ask(self, question: str, **overrides) -> Answer:
        return final_answer(self.stream(question, **overrides))
