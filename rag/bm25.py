"""The lexical half of hybrid retrieval: a bm25s index of chunk tokens and ids, persisted beside Chroma.

Lean by design: in memory there are only the BM25 score matrix, the vocabulary and the chunk ids, and
the matrix is memory-mapped (``mmap=True``) and loaded on first use. The texts and metadata of the
hits a query keeps are read from a SQLite side table by row number (``chunks.sqlite``, on disk, ~0.3
ms for 40 rows); fetching them from Chroma instead cost 15-20 ms per query on this machine. (The
previous llama-index BM25Retriever held every node, text and metadata, in memory: 1.08 GB at 100k
papers.)
Tokenisation and scoring are the ones llama-index's BM25Retriever uses (bm25s, English stop words,
Snowball stemmer, the same token pattern), so rankings are unchanged.

The BM25 copy records the collection revision it was built from. Ingest bumps the revision before
writing, so a copy built before an interrupted ingest, or by another process against a shared Chroma
server, is detected as stale and rebuilt from Chroma instead of answering from old data.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.store import Store

_STATE = "paperchat_state.json"
log = logging.getLogger("rag.bm25")
_IDS = "chunk_ids.json"
_ROWS = "chunks.sqlite"
#: Saved-index layout; a directory written by another layout (e.g. llama-index's) is rebuilt once.
_FORMAT = "bm25s-lean-1"
#: llama-index's BM25Retriever defaults, kept so rankings do not move.
_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_STOPWORDS = "english"


@dataclass
class LexicalModel:
    """A loaded index: the bm25s model (score matrix + vocabulary), chunk ids by row, the stemmer, and
    the on-disk table of each row's text and metadata."""

    bm25: Any
    ids: list[str]
    stemmer: Any
    rows_file: Path

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def stem(self, word: str) -> str:
        return self.stemmer.stemWord(word) if self.stemmer is not None else word

    def chunks(self, rows: list[int]) -> dict[int, tuple[str, str, dict]]:
        """row -> (chunk id, text, metadata) for ``rows``."""
        if not rows:
            return {}
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(f"file:{self.rows_file}?mode=ro", uri=True, check_same_thread=False)
            got = self._conn.execute(f"SELECT row, id, text, meta FROM chunks WHERE row IN ({','.join('?' * len(rows))})",
                                     [int(r) for r in rows]).fetchall()
        return {row: (cid, text, json.loads(meta)) for row, cid, text, meta in got}


def _write_rows(conn: sqlite3.Connection, start: int, page: list[tuple[str, str, dict]]) -> None:
    conn.executemany("INSERT INTO chunks (row, id, text, meta) VALUES (?, ?, ?, ?)",
                     [(start + i, cid, text, json.dumps(_slim(meta))) for i, (cid, text, meta) in enumerate(page)])


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.dir = settings.index_dir / "bm25" / settings.collection
        self._model: LexicalModel | None = None
        self._revision: int | None = None
        self._lock = threading.Lock()

    def _read_state(self) -> dict:
        try:
            return json.loads((self.dir / _STATE).read_text())
        except (OSError, ValueError):
            return {}

    def _current(self, state: dict, revision: int) -> bool:
        return (state.get("revision") == revision and state.get("collection") == self.settings.collection
                and state.get("format") == _FORMAT)

    def retriever(self) -> LexicalModel | None:
        """The loaded index (None for an empty collection), rebuilt first when Chroma changed since it was saved."""
        with self._lock:
            revision = self.store.get_revision()
            if self._model is not None and self._revision == revision:
                return self._model
            state = self._read_state()
            if self._current(state, revision):
                self._model = self._load_or_rebuild(revision, state) if state.get("docs") else None
            else:
                self._model = self._build(revision)
            self._revision = revision
            return self._model

    def _load(self) -> LexicalModel:
        import bm25s

        bm25 = bm25s.BM25.load(str(self.dir), mmap=True, load_corpus=False)
        ids = json.loads((self.dir / _IDS).read_text())
        return LexicalModel(bm25, ids, _stemmer(), self.dir / _ROWS)

    def _load_or_rebuild(self, revision: int, state: dict):
        """The saved copy, or a fresh build from Chroma when the files are damaged (truncated, deleted,
        half-copied): the BM25 files are derived data, so a bad copy costs a rebuild, never an answer."""
        try:
            model = self._load()
            if len(model.ids) != int(state.get("docs", -2)):
                raise ValueError(f"{len(model.ids)} chunk ids, the state file says {state.get('docs')}")
            return model
        except Exception as exc:  # any load failure of a derived file means "rebuild it"
            log.warning("BM25 index in %s cannot be loaded (%s: %s); rebuilding it from Chroma",
                        self.dir, type(exc).__name__, str(exc)[:200])
            return self._build(revision)

    def rebuild(self) -> None:
        """Discard the saved copy and build it again from Chroma (``rag ingest --rebuild``)."""
        with self._lock:
            shutil.rmtree(self.dir, ignore_errors=True)
            revision = self.store.get_revision()
            self._model = self._build(revision)
            self._revision = revision

    def _build(self, revision: int) -> LexicalModel | None:
        """Tokenise every chunk page by page (tokens and ids kept in memory, texts written to the side table),
        index, save, swap in atomically."""
        import bm25s

        stemmer = _stemmer()
        vocab: dict[str, int] = {}
        ids: list[str] = []
        token_rows: list[list[int]] = []
        page: list[tuple[str, str, dict]] = []
        tmp = self.dir.with_name(self.dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(tmp / _ROWS))
        conn.execute("CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL)")

        def flush() -> None:
            if not page:
                return
            tokens = bm25s.tokenize([text for _, text, _ in page], stopwords=_STOPWORDS, stemmer=stemmer,
                                    token_pattern=_TOKEN_PATTERN, return_ids=False, show_progress=False)
            token_rows.extend([vocab.setdefault(t, len(vocab)) for t in doc] for doc in tokens)
            _write_rows(conn, len(ids), page)
            ids.extend(cid for cid, _, _ in page)
            page.clear()

        for cid, text, meta in self.store.all_chunks():
            page.append((cid, text or "", meta or {}))
            if len(page) >= 5000:
                flush()
        flush()
        conn.commit()
        conn.close()
        model = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index((token_rows, vocab), show_progress=False)
            bm25.save(str(tmp))
            (tmp / _IDS).write_text(json.dumps(ids))
            model = True
        (tmp / _STATE).write_text(json.dumps({"revision": revision, "docs": len(ids), "collection": self.settings.collection,
                                              "format": _FORMAT}))
        # Swap directories so a reader never sees a half-written index.
        old = self.dir.with_name(self.dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.dir.exists():
            self.dir.rename(old)
        tmp.rename(self.dir)
        shutil.rmtree(old, ignore_errors=True)
        # Serve from the memory-mapped files, as every other client will (the build's arrays are dropped).
        return self._load() if model else None

    def refresh(self) -> None:
        """Called after ingest: rebuild now if Chroma changed, rather than on the next query.

        When the saved copy is current (an unchanged re-ingest) nothing is loaded: loading would import
        bm25s just to prove what the state file already says.
        """
        with self._lock:
            revision = self.store.get_revision()
            if self._revision == revision or self._current(self._read_state(), revision):
                return
        self.retriever()

    def corrections(self, query: str) -> list[str]:
        """Corpus words for the query's long words that the corpus never uses: "MosiacBERT" -> mosaicbert.

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
        fixes = []
        for word in re.findall(r"\w{6,}", query.casefold()):
            stemmed = stem(word)
            if stemmed in vocab or word in vocab:
                continue
            pool = [v for v in vocab if v[:1] == word[:1] and abs(len(v) - len(stemmed)) <= 2]
            fixes += difflib.get_close_matches(stemmed, pool, n=1, cutoff=0.85)
        return fixes

    def search(self, query: str, k: int, fixes: list[str] | None = None) -> list[tuple[str, str, dict, float]]:
        """(chunk id, text, metadata, score) for the top ``k`` chunks with a positive score.

        ``fixes``: spelling corrections already computed for ``query`` (see :meth:`corrections`); None
        computes them here. Texts and metadata of the hits come from Chroma in one request.
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
        tokens = bm25s.tokenize(query, stemmer=model.stemmer, token_pattern=_TOKEN_PATTERN, show_progress=False)
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


def _slim(meta: dict) -> dict:
    """Drop llama-index's own serialisation keys that Chroma returns alongside our metadata."""
    return {k: v for k, v in meta.items() if not k.startswith("_") and k not in ("doc_id", "document_id", "ref_doc_id")}


def clear(settings: Settings) -> None:
    shutil.rmtree(Path(settings.index_dir) / "bm25" / settings.collection, ignore_errors=True)
