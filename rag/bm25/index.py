"""The lexical half of hybrid retrieval: a bm25s index of chunk tokens, persisted beside Chroma.

Lean by design: in memory there are only the BM25 score matrix (memory-mapped, ``mmap=True``, loaded on
first use), the vocabulary and the row numbers of the chunks. Texts and metadata of the hits a query keeps
are read from the journal by row (rag.bm25.journal); fetching them from Chroma cost 15-20 ms per query.
Tokenisation and scoring are the ones llama-index's BM25Retriever uses (bm25s, English stop words, Snowball
stemmer, the same token pattern), so rankings are unchanged.

Ingest keeps the journal in step as it writes (:meth:`BM25Index.follow`); the index is then re-scored from
the stored token ids (rag.bm25.matrix), with no Chroma read and no tokenising. The saved index records the
collection revision it was scored at. Ingest bumps the revision before writing, so a copy scored before an
interrupted ingest, or by another process against a shared Chroma server, is detected as stale; the journal
is then refilled from Chroma (the slow path: every chunk read and tokenised) and the index scored again.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.bm25.journal import FORMAT as JOURNAL_FORMAT
from rag.bm25.journal import TOKEN_PATTERN, Journal, RowReader, stemmer
from rag.bm25.model import Follower, LexicalModel
from rag.config import Settings
from rag.store import Store
from rag.terms import rejoined_names

_STATE = "paperchat_state.json"
_ROWS = "rows.npy"
log = logging.getLogger("rag.bm25")
#: Saved-index layout; a directory written by another layout (an earlier release's) is rebuilt once.
_FORMAT = "bm25s-journal-1"
#: Chunks read from Chroma per page when the journal is refilled.
_PAGE = 5000
#: What :meth:`BM25Index._build` returns when an ingest elsewhere is writing and it did not wait.
_WRITING = object()


class BM25Index:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.dir = settings.index_dir / "bm25" / settings.collection
        self.index_dir = self.dir / "index"
        self.journal = Journal(self.dir / "journal.sqlite")
        # Held by an ingest while it writes and by a refill: beside the journal's directory, which a refill
        # replaces, so every process locks the same file.
        self.lock_path = self.dir.with_name(f".{self.dir.name}.lock")
        self._writers = None
        self._model: LexicalModel | None = None
        self._revision: int | None = None
        self._lock = threading.Lock()

    def _read_state(self) -> dict:
        try:
            return json.loads((self.index_dir / _STATE).read_text())
        except (OSError, ValueError):
            return {}

    def _current(self, state: dict, revision: int) -> bool:
        return (state.get("revision") == revision and state.get("collection") == self.settings.collection
                and state.get("format") == _FORMAT)

    def retriever(self) -> LexicalModel | None:
        """The loaded index (None for an empty collection), scored again first when Chroma changed since.

        While another process's ingest is writing (it holds the writer lock and the journal is out of step)
        the index loaded so far keeps answering, as it did before that ingest; it is scored again once the
        ingest is done.
        """
        with self._lock:
            revision = self.store.get_revision()
            if self._model is not None and self._revision == revision:
                return self._model
            state = self._read_state()
            if self._current(state, revision):
                self._model = self._load_or_rebuild(revision, state) if state.get("docs") else None
            else:
                built = self._build(revision, wait=self._model is None and not state.get("docs"))
                if built is _WRITING:
                    if self._model is None:
                        self._model = self._load_or_rebuild(revision, state)
                    return self._model  # its revision is not recorded: the next query checks again
                self._model = built
            self._revision = revision
            return self._model

    def writers(self):
        """The inter-process writer lock (filelock: flock on POSIX, msvcrt on Windows). One object per index,
        re-entrant in the thread that holds it; another thread or process waits (or, searching, does not)."""
        if self._writers is None:
            from filelock import FileLock

            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._writers = FileLock(str(self.lock_path), thread_local=True)
        return self._writers

    def _load(self) -> LexicalModel:
        import bm25s
        import numpy as np

        bm25 = bm25s.BM25.load(str(self.index_dir), mmap=True, load_corpus=False)
        rows = np.load(self.index_dir / _ROWS, mmap_mode="r")
        return LexicalModel(bm25, rows, stemmer(), RowReader(self.journal.path))

    def _load_or_rebuild(self, revision: int, state: dict):
        """The saved copy, or a fresh build when the files are damaged (truncated, deleted, half-copied):
        the BM25 files are derived data, so a bad copy costs a rebuild, never an answer."""
        try:
            model = self._load()
            if len(model.rows) != int(state.get("docs", -2)):
                raise ValueError(f"{len(model.rows)} rows, the state file says {state.get('docs')}")
            return model
        except Exception as exc:  # any load failure of a derived file means "rebuild it"
            log.warning("BM25 index in %s cannot be loaded (%s: %s); rebuilding it",
                        self.dir, type(exc).__name__, str(exc)[:200])
            return self._build(revision)

    def rebuild(self) -> None:
        """Discard the journal and the index and build both again from Chroma (``rag ingest --rebuild``)."""
        with self._lock, self.writers():
            self.journal.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            revision = self.store.get_revision()
            self._model = self._build(revision)
            self._revision = revision

    def _journal_in_step(self, revision: int) -> bool:
        """True when the journal mirrors Chroma at ``revision``; a damaged journal file is not."""
        if not self.journal.path.exists():
            return False
        try:
            return self.journal.in_step(revision, self.settings.collection)
        except Exception as exc:  # sqlite3.DatabaseError and kin: the journal is derived data
            log.warning("BM25 journal %s is unreadable (%s); it is refilled from Chroma", self.journal.path, exc)
            self.journal.close()
            return False

    def _refill(self, revision: int) -> None:
        """Fill a new journal from every chunk in Chroma (first use, an earlier layout, an interrupted or
        foreign ingest), written aside and swapped in so that a reader never sees half of it."""
        from tqdm import tqdm

        self.journal.close()
        tmp = Journal(self.dir.with_name(self.dir.name + ".refill") / "journal.sqlite")
        shutil.rmtree(tmp.path.parent, ignore_errors=True)
        page: list[tuple[str, str, dict]] = []
        with tqdm(desc="BM25 from Chroma", unit="chunk", disable=None, leave=False) as bar:
            for chunk in self.store.all_chunks():
                page.append(chunk)
                if len(page) >= _PAGE:
                    tmp.add(page)
                    bar.update(len(page))
                    page.clear()
            tmp.add(page)
            bar.update(len(page))
        tmp.set_state(format=JOURNAL_FORMAT, collection=self.settings.collection, synced=revision)
        tmp.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # an earlier layout's files go with it
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp.path.parent, self.dir)

    def _build(self, revision: int, wait: bool = True):
        """Score the index from the journal (refilled from Chroma first when out of step), save, swap in.

        Returns ``_WRITING`` instead when the journal is out of step because an ingest is writing right now
        and ``wait`` is False: refilling then would race that ingest's writes.
        """
        from filelock import Timeout

        if not self._journal_in_step(revision):
            lock = self.writers()
            try:
                lock.acquire(timeout=-1 if wait else 0)
            except Timeout:
                return _WRITING
            try:
                if not self._journal_in_step(revision):  # the writer that held the lock may have caught it up
                    self._refill(revision)
                return self._score(revision)
            finally:
                lock.release()
        return self._score(revision)

    def _score(self, revision: int) -> LexicalModel | None:
        import numpy as np

        from rag.bm25.matrix import score

        rows, flat, lens = self.journal.corpus()
        tmp = self.index_dir.with_name("index.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if len(rows):
            score(flat, lens, self.journal.vocab()).save(str(tmp))
            np.save(tmp / _ROWS, rows)
        (tmp / _STATE).write_text(json.dumps({"revision": revision, "docs": len(rows), "collection": self.settings.collection,
                                              "format": _FORMAT}))
        # Swap directories so a reader never sees a half-written index (open memory maps stay valid).
        old = self.index_dir.with_name("index.old")
        shutil.rmtree(old, ignore_errors=True)
        if self.index_dir.exists():
            self.index_dir.rename(old)
        tmp.rename(self.index_dir)
        shutil.rmtree(old, ignore_errors=True)
        return self._load() if len(rows) else None

    @contextmanager
    def follow(self) -> Iterator[Follower]:
        """Around an ingest's writes to Chroma: the journal records them, so the index is re-scored afterwards
        without reading Chroma back.

        The journal follows only if it mirrors Chroma when the ingest starts; it is marked out of step for
        the duration, and in step at the revision the ingest reports (``done``) only when the block ends
        without an exception. Otherwise the next use refills it from Chroma.
        """
        with self.writers():  # one writer at a time, and no refill while this one writes
            with self._lock:
                self.store.refresh()
                following = self._journal_in_step(self.store.get_revision()) or self._fresh()
                if following:
                    self.journal.set_state(synced=-1)
            follower = Follower(self.journal if following else None)
            yield follower
            if following and follower.revision is not None:
                self.journal.set_state(synced=follower.revision)

    def _fresh(self) -> bool:
        """A collection nothing has been written to yet starts with an empty journal that mirrors it."""
        if self.store.get_revision() != 0 or self.journal.path.exists() or self.store.count():
            return False
        self.journal.set_state(format=JOURNAL_FORMAT, collection=self.settings.collection, synced=0)
        return True

    def refresh(self) -> None:
        """Called after ingest: score the index now if Chroma changed, rather than on the next query.

        When the saved copy is current (an unchanged re-ingest) nothing is loaded: loading would import
        bm25s just to prove what the state file already says.
        """
        with self._lock:
            revision = self.store.get_revision()
            if self._revision == revision or self._current(self._read_state(), revision):
                return
        self.retriever()

    def corrections(self, query: str) -> list[str]:
        """Corpus words for the query's words that the corpus never uses: "MosiacBERT" -> mosaicbert, "sabia" -> sabiá.

        BM25 scores a misspelled name zero, and title look-ups are where users misspell ("EfficentSAM").
        The candidates are the index's own vocabulary stems of similar length and the same first letter,
        so the look-up stays cheap on a large vocabulary; difflib's ratio >= 0.85 allows about one edit
        in a 7-10 letter word.
        """
        model = self.retriever()
        if model is None:
            return []
        vocab = model.bm25.vocab_dict
        stem = model.stem
        accented = model.accented
        fixes = [accented[w] for w in dict.fromkeys(re.findall(r"\w{3,}", query.casefold()))
                 if w in accented and stem(w) not in vocab]
        for word in re.findall(r"\w{6,}", query.casefold()):
            stemmed = stem(word)
            if stemmed in vocab or word in vocab:
                continue
            pool = [v for v in vocab if v[:1] == word[:1] and abs(len(v) - len(stemmed)) <= 2]
            fixes += difflib.get_close_matches(stemmed, pool, n=1, cutoff=0.85)
        joined = rejoined_names(query, lambda word: stem(word) in vocab or word in vocab)
        return fixes + [g for g in joined if g not in fixes]

    def search(self, query: str, k: int, fixes: list[str] | None = None) -> list[tuple[str, str, dict, float]]:
        """(chunk id, text, metadata, score) for the top ``k`` chunks with a positive score.

        ``fixes``: spelling corrections already computed for ``query`` (see :meth:`corrections`); None
        computes them here. Texts and metadata of the hits come from the journal in one read.
        """
        model = self.retriever()
        if model is None:
            return []
        fixes = self.corrections(query) if fixes is None else fixes
        if fixes:
            query = f"{query} {' '.join(fixes)}"
        try:
            return self._retrieve(model, query, k)
        except Exception as exc:  # loaded but unusable (e.g. arrays from different builds): rebuild once
            log.warning("BM25 search failed (%s: %s); rebuilding the index from Chroma", type(exc).__name__, str(exc)[:200])
            self.rebuild()
            model = self.retriever()
            return self._retrieve(model, query, k) if model is not None else []

    def _retrieve(self, model: LexicalModel, query: str, k: int) -> list[tuple[str, str, dict, float]]:
        import bm25s

        n_docs = int(model.bm25.scores.get("num_docs", 0))
        tokens = bm25s.tokenize(query, stemmer=model.stemmer, token_pattern=TOKEN_PATTERN, show_progress=False)
        rows, scores = model.bm25.retrieve(tokens, k=max(1, min(k, n_docs)), show_progress=False)
        ranked = [(int(r), float(sc)) for r, sc in zip(rows[0], scores[0], strict=True) if sc > 0]
        found = model.chunks([r for r, _ in ranked])
        return [(*found[r], score) for r, score in ranked if r in found]

    def doc_freq(self):
        """(stem -> number of chunks containing it, number of chunks), read from the BM25 index itself.

        bm25s keeps one sparse column per vocabulary stem, so a stem's document frequency is its column
        length: the answerability check gets corpus IDF weights without a second pass over the text.
        """
        model = self.retriever()
        if model is None:
            return (lambda _stem: 0), 0
        scores = model.bm25.scores
        indptr, vocab = scores["indptr"], model.bm25.vocab_dict

        def lookup(stem: str) -> int:
            i = vocab.get(stem)
            return 0 if i is None else int(indptr[i + 1] - indptr[i])

        return lookup, int(scores.get("num_docs", 0))


def clear(settings: Settings) -> None:
    shutil.rmtree(Path(settings.index_dir) / "bm25" / settings.collection, ignore_errors=True)
