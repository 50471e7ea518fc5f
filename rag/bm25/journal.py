"""The BM25 journal: every chunk's text, metadata and token ids in one SQLite file, kept in step by ingest.

Why a journal: the lexical index used to be built by reading every chunk back from Chroma and tokenising
it again (511 s at 1M papers, a third of it the Chroma read, a third tokenising). Ingest already holds the
texts, so it writes each chunk's stemmed token ids here once, as it writes the chunk to Chroma; scoring the
index is then a pass over stored integers (rag.bm25.matrix), and an ingest tokenises only what it adds.
The same table serves the texts and metadata of the hits a query keeps, by row (~0.3 ms for 40 rows).

The journal says which Chroma revision it mirrors (``synced``). Ingest marks it dirty before writing and
in step after its last write, so an interrupted ingest, or a writer that did not follow the journal
(another process against a shared Chroma server), leaves it out of step and it is refilled from Chroma.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Layout of the journal; another layout is refilled from Chroma once.
FORMAT = "bm25-journal-1"
#: llama-index's BM25Retriever defaults (bm25s, English stop words, Snowball stemmer), kept so rankings do not move.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
STOPWORDS = "english"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
                                   text TEXT NOT NULL, meta TEXT NOT NULL, tokens BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, token TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
#: SQLite's limit on bound parameters is 32766 in current builds; stay far below it.
_IN_BATCH = 500


def stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def slim(meta: dict) -> dict:
    """Drop llama-index's own serialisation keys that Chroma returns alongside our metadata."""
    return {k: v for k, v in meta.items() if not k.startswith("_") and k not in ("doc_id", "document_id", "ref_doc_id")}


class Journal:
    """One collection's journal file. Writes are serialised by a lock; readers open their own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._vocab: dict[str, int] | None = None
        self._stemmer = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn, self._vocab = None, None

    # --- state ------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM state")}

    def set_state(self, **values: Any) -> None:
        with self._lock, self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                                  [(k, json.dumps(v)) for k, v in values.items()])

    def in_step(self, revision: int, collection: str) -> bool:
        state = self.state()
        return (state.get("format") == FORMAT and state.get("collection") == collection
                and state.get("synced") == revision)

    # --- writes -----------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> list[list[str]]:
        import bm25s

        if self._stemmer is None:
            self._stemmer = stemmer()
        return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=self._stemmer, token_pattern=TOKEN_PATTERN,
                              return_ids=False, show_progress=False)

    def add(self, chunks: Iterable[tuple[str, str, dict]]) -> None:
        """Insert or replace (chunk id, text, metadata) rows, with their token ids."""
        import numpy as np

        chunks = [(cid, text or "", slim(meta or {})) for cid, text, meta in chunks]
        if not chunks:
            return
        tokens = self.tokenize([text for _, text, _ in chunks])
        with self._lock:
            if self._vocab is None:
                self._vocab = dict(self.conn.execute("SELECT token, id FROM vocab"))
            vocab, fresh, rows = self._vocab, [], []
            for (cid, text, meta), words in zip(chunks, tokens, strict=True):
                ids = []
                for word in words:
                    i = vocab.get(word)
                    if i is None:
                        i = vocab[word] = len(vocab)
                        fresh.append((i, word))
                    ids.append(i)
                rows.append((cid, text, json.dumps(meta), np.asarray(ids, dtype=np.int32).tobytes()))
            try:
                with self.conn:
                    self.conn.executemany("INSERT INTO vocab (id, token) VALUES (?, ?)", fresh)
                    self.conn.executemany("INSERT OR REPLACE INTO chunks (id, text, meta, tokens) VALUES (?, ?, ?, ?)", rows)
            except BaseException:
                self._vocab = None  # the table was rolled back: re-read it rather than trust the copy
                raise

    def remove(self, ids: list[str]) -> None:
        with self._lock, self.conn:
            for i in range(0, len(ids), _IN_BATCH):
                part = ids[i : i + _IN_BATCH]
                self.conn.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)

    # --- reads ------------------------------------------------------------------------------------
    def corpus(self):
        """(row numbers, all token ids end to end, tokens per chunk) in row order: the input of the scorer."""
        import numpy as np

        with self._lock:
            got = self.conn.execute("SELECT row, tokens FROM chunks ORDER BY row").fetchall()
        rows = np.fromiter((r for r, _ in got), dtype=np.int64, count=len(got))
        lens = np.fromiter((len(t) // 4 for _, t in got), dtype=np.int64, count=len(got))
        flat = np.frombuffer(b"".join(t for _, t in got), dtype=np.int32)
        return rows, flat, lens

    def vocab(self) -> dict[str, int]:
        with self._lock:
            return dict(self.conn.execute("SELECT token, id FROM vocab"))


class RowReader:
    """Read-only access to the chunk rows a search keeps (its own connection: it never waits on a writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def fetch(self, rows: list[int]) -> dict[int, tuple[str, str, dict]]:
        """row -> (chunk id, text, metadata); rows deleted since the index was scored are simply absent."""
        if not rows:
            return {}
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            got = self._conn.execute(f"SELECT row, id, text, meta FROM chunks WHERE row IN ({','.join('?' * len(rows))})",
                                     [int(r) for r in rows]).fetchall()
        return {row: (cid, text, json.loads(meta)) for row, cid, text, meta in got}
