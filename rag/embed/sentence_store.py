"""Abstract-sentence vectors persisted next to the index, in one SQLite file shared by processes.

A cache, never a source of truth: every vector in it can be computed again, so a damaged file is
started afresh and any other database error only costs the speed-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: File under the index dir holding abstract-sentence vectors (see :class:`SentenceVectorStore`).
SENTENCE_STORE = "sentence-vectors.sqlite"


def _damaged(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(n in text for n in ("not a database", "malformed", "corrupt", "no such table"))


class SentenceVectorStore:
    """Abstract-sentence vectors persisted next to the index (one SQLite file), shared by processes.

    Why: every answer (refusal gate, extractive answer, LLM evidence selection and support check) needs
    the vectors of all abstract sentences of its 5 hits, ~50 sentences. A paper no answer has used yet
    cost 0.4-2.8 s of single-thread encoding before anything could be streamed. Vectors are written the
    first time they are computed (and by :meth:`Embedder.warm_sentences`), so a restarted ``rag serve``
    or a second process starts warm. Keys hash the model identity with the text: vectors of other
    weights are never returned. Any database error disables the store (answers only lose the speed-up).
    """

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self._salt = model.encode() + b"\0"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.broken = False
        self._recreated = False

    def _key(self, text: str) -> bytes:
        return hashlib.sha1(self._salt + text.encode()).digest()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is None and not self.broken and (create or self.path.exists()):
            if not self.path.parent.is_dir():
                return None  # no index yet: nothing to read, and ingest creates the folder
            conn = sqlite3.connect(str(self.path), timeout=5.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")  # readers in other processes never wait for a writer
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
            self._conn = conn
        return self._conn

    def _guard(self, action: Callable[[], object], default):
        try:
            with self._lock:
                return action()
        except sqlite3.DatabaseError as exc:
            if _damaged(exc) and not self._recreated:  # a damaged cache is rebuilt, not kept disabled
                log.warning("sentence-vector store %s is damaged (%s): starting it afresh", self.path, exc)
                self._recreated = True
                self.discard()
                return self._guard(action, default)
            log.warning("sentence-vector store %s disabled: %s", self.path, exc)
            self.broken = True
            return default
        except (sqlite3.Error, OSError) as exc:  # read-only index dir, full disk
            log.warning("sentence-vector store %s disabled: %s", self.path, exc)
            self.broken = True
            return default

    def discard(self) -> None:
        """Close and delete the store's files (it is a cache: every vector can be computed again)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self.broken = False

    def check(self) -> int:
        """Rows in the store; raises sqlite3.Error when the file cannot be read (``rag doctor``)."""
        if not self.path.exists():
            return 0
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0) as conn:
            return conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    def get(self, texts: Iterable[str]) -> dict[str, object]:
        """The stored vectors (float32 numpy arrays) of those ``texts`` that have one."""
        import numpy as np

        keyed = {self._key(t): t for t in texts}

        def read() -> dict[str, object]:
            conn = self._connect(create=False)
            if conn is None or not keyed:
                return {}
            found: dict[str, object] = {}
            keys = list(keyed)
            for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                part = keys[i : i + 500]
                rows = conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                for key, blob in rows:
                    found[keyed[bytes(key)]] = np.frombuffer(blob, dtype=np.float32).copy()
            return found

        return self._guard(read, {})

    def put(self, vectors: dict[str, object]) -> None:
        import numpy as np

        def write() -> None:
            conn = self._connect(create=True)
            if conn is None or not vectors:
                return
            rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
            with conn:  # one transaction
                conn.execute("BEGIN")
                conn.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)

        self._guard(write, None)

    def count(self) -> int:
        def rows() -> int:
            conn = self._connect(create=False)
            return conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] if conn else 0

        return self._guard(rows, 0)
