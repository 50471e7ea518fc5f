"""The embedder the rest of paperchat talks to: one interface over the torch, ONNX and remote backends.

``embed_backend=auto`` (default) uses ONNX for queries and small batches when onnxruntime is installed
and the export exists or can be made (needs the ``onnx`` package once). Ingest-sized batches (more
than ``SMALL_BATCH`` texts) go to the int8 ONNX model (``embed_ingest_precision=int8``, the default;
:mod:`rag.embed.quantize`), or with ``fp32`` to torch, as before int8 existed.
``onnx`` uses ONNX for everything (int8 or fp32 for ingest batches), ``torch`` never; ``remote`` is
chosen by setting ``RAG_EMBED_BASE_URL``. Queries and abstract sentences are always fp32.
Heavy imports happen on first use only.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterable
from functools import cached_property, lru_cache
from pathlib import Path

from cachetools import LRUCache

from rag.config import Settings
from rag.embed.model import WINDOW_TOKENS, canonical_name, model_key, resolve_model_path
from rag.embed.onnx_backend import SMALL_BATCH, OnnxEncoder, export_onnx, mean_pooling, onnx_export_path
from rag.embed.quantize import int8_export_path, quantize_int8
from rag.embed.remote import RemoteEncoder
from rag.embed.sentence_store import SENTENCE_STORE, SentenceVectorStore

log = logging.getLogger(__name__)

#: Query vectors kept in memory (least recently used dropped first); 384 floats each.
QUERY_CACHE = 512
#: Abstract-sentence vectors kept in memory (1.5 KB each); the rest come from the sentence store.
SENTENCE_CACHE = 20_000
#: Sentences embedded per run by the background warmer: small batches keep it on the one-thread
#: ONNX session and let an answer's own encode run between two of them.
WARM_BATCH = 16


class Embedder:
    """The model behind one interface: llama-index's HuggingFaceEmbedding, its ONNX export, or a remote endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = resolve_model_path(settings.embed_model)  # the tokenizer, even when vectors are remote
        self.remote = settings.uses_remote_embeddings
        self._backend_lock = threading.Lock()
        # Per instance, not a module-level cache: two embedders (e.g. ONNX and torch in a test) never share vectors.
        self._query_vector = lru_cache(maxsize=QUERY_CACHE)(self._encode_query)
        self._sentence_lock = threading.Lock()  # cachetools caches are not thread-safe
        self._sentence_cache: LRUCache[str, object] = LRUCache(maxsize=SENTENCE_CACHE)  # float32 numpy vectors

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
        elif not mean_pooling(self.path):
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

    @property
    def ingest_backend(self) -> str:
        """What embeds ingest-sized batches: ``onnx-int8``, ``onnx`` (fp32), ``torch`` or ``remote``.

        Resolved once, on first use (may quantize the ONNX export then, ~3 s); if the int8 model cannot
        be made, ingest falls back to what ``embed_ingest_precision=fp32`` would use.
        """
        with self._backend_lock:
            if "_ingest_backend" in self.__dict__:
                return self.__dict__["_ingest_backend"]
        backend = self.backend  # embed_backend=torch (or a GPU device): torch, whatever the precision
        if backend == "onnx" and self.settings.embed_ingest_precision == "int8":
            try:
                if not self.int8_file.exists():
                    quantize_int8(self.onnx_file, self.int8_file)
                backend = "onnx-int8"
            except Exception as exc:  # missing `onnx` package, read-only cache dir
                log.info("ingest batches stay fp32: int8 quantization failed (%s: %s)", type(exc).__name__, exc)
        if backend == "onnx" and self.settings.embed_backend == "auto":
            # fp32 in auto mode: torch, exactly as before int8 existed (fp32 ONNX in runs of 8 measured ~10 %
            # less CPU than torch's 64-text batches, but has had no anchor run of its own)
            backend = "torch"
        with self._backend_lock:
            return self.__dict__.setdefault("_ingest_backend", backend)

    @property
    def int8_file(self) -> Path:
        return int8_export_path(self.onnx_file)

    @cached_property
    def onnx_int8(self) -> OnnxEncoder:
        return OnnxEncoder(self.path, self.int8_file)

    def embed_texts(self, texts: list[str], exact: bool = False) -> list[list[float]]:
        """Vectors for ``texts``: ingest-sized batches (more than ``SMALL_BATCH``) through
        :attr:`ingest_backend`, smaller ones through the fp32 ONNX session (or torch / remote).

        ``exact``: fp32 vectors whatever the size (abstract sentences, which answers compare with fp32
        query vectors). Measured on the bundled corpus at load ~4: one thread, 233 chunks, CPU seconds
        torch 23.2 (its 64-text batches), fp32 ONNX in runs of 8 18.4, int8 ONNX in runs of 8 12.2.
        Queries are small batches, where ONNX starts in 0.3 s instead of 3-5 s for torch.
        """
        backend = self.backend
        if backend == "remote":
            return self.remote_encoder.encode(texts) if texts else []
        if len(texts) <= SMALL_BATCH:
            if backend == "onnx":
                return self.onnx.encode(texts, self.settings.embed_batch_size)
            return self.model.get_text_embedding_batch(texts)
        ingest = self.ingest_backend
        if ingest == "onnx-int8" and not exact:
            return self.onnx_int8.encode_many(texts)
        if backend == "onnx" and (ingest != "torch" or self.settings.embed_backend == "onnx"):
            return self.onnx.encode_many(texts)
        return self.model.get_text_embedding_batch(texts)

    @cached_property
    def sentence_store(self) -> SentenceVectorStore:
        key = f"remote|{self.name}|{self.settings.embed_base_url}" if self.remote else model_key(self.path)
        return SentenceVectorStore(Path(self.settings.index_dir) / SENTENCE_STORE, key)

    def _remember(self, vectors: dict[str, object]) -> None:
        with self._sentence_lock:
            self._sentence_cache.update(vectors)

    def embed_sentences(self, texts: list[str]):
        """Vectors (a float32 numpy matrix) for abstract sentences: memory cache, then the index's
        :class:`SentenceVectorStore`, then the model (and the result is written to both).

        Every extractive answer, refusal check and support check embeds the sentences of its
        sources' abstracts (~50 for k=5, 0.4-2.8 s of one core for papers not seen before); the
        same papers come back for many questions and across restarts. The memory cache is bounded at
        ``SENTENCE_CACHE`` entries (1.5 KB each).
        """
        import numpy as np

        with self._sentence_lock:
            found = {t: self._sentence_cache.get(t) for t in texts}
        missing = [t for t, vec in found.items() if vec is None]
        if missing:
            stored = self.sentence_store.get(missing)
            self._remember(stored)
            found.update(stored)
            missing = [t for t in missing if t not in stored]
        if missing:
            fresh = dict(zip(missing, np.asarray(self.embed_texts(missing, exact=True), dtype=np.float32), strict=True))
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
        for i in range(0, len(todo), WARM_BATCH):
            if stop.is_set() or self.sentence_store.broken:
                break
            batch = todo[i : i + WARM_BATCH]
            t0 = time.monotonic()
            vectors = self.embed_texts(batch, exact=True)  # a small batch: the fp32 ONNX session whenever available
            self.sentence_store.put(dict(zip(batch, np.asarray(vectors, dtype=np.float32), strict=True)))
            done += len(batch)
            # Half duty cycle: the GIL and a core stay free for answers half the time. (Not os.setpriority:
            # a niced thread preempted while holding the GIL stalled a concurrent answer by seconds.)
            stop.wait(time.monotonic() - t0)
        return done

    def embed_query(self, text: str) -> list[float]:
        """Query vector; repeated queries (UI re-runs, eval comparisons, chat retries) come from a small cache.

        A fresh list each call: a caller mutating its vector must not change the cached one.
        """
        return list(self._query_vector(text))

    def _encode_query(self, text: str) -> tuple[float, ...]:
        backend = self.backend
        if backend == "remote":
            return tuple(self.remote_encoder.encode([text])[0])
        if backend == "onnx":
            return tuple(self.onnx.encode([text])[0])
        return tuple(self.model.get_query_embedding(text))
