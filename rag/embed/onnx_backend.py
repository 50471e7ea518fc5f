"""The ONNX backend: export the model's transformer once, then encode with ONNX Runtime.

Why: importing torch, transformers and sentence-transformers costs 3-5 s, which dominated the start of
``rag search``; ONNX Runtime imports in ~0.2 s and embeds a query in ~2 ms. The export is fp32 and not
quantized, so the vectors match the torch ones to ~1e-7 (checked by ``rag bench`` and
tests/embed/test_onnx_backend.py) and an index built with one backend is searched with the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

from rag.embed.model import WINDOW_TOKENS

#: Batches at most this long run on the single-thread ONNX session (queries, extractive answers):
#: on a shared 2-core machine a multi-threaded pool waiting on a busy core made one query take 100-500 ms.
SMALL_BATCH = 64
#: Texts per run in :meth:`OnnxEncoder.encode_many` (ingest). Shorter runs are cheaper per token at
#: 256 word pieces (the attention and FFN activations of 64 x 256 tokens do not fit in cache): one
#: thread, 233 chunks, CPU seconds int8 15.7 / 14.3 / 12.2 and fp32 25.7 / 21.2 / 18.4 at 64 / 16 / 8.
INGEST_RUN = 8


def onnx_export_path(model_dir: Path, cache_dir: Path) -> Path:
    """Where the ONNX export of ``model_dir`` lives; the name changes when the weights change."""
    weights = [f for f in ("model.safetensors", "pytorch_model.bin") if (model_dir / f).exists()]
    stamp = "|".join([str(model_dir.resolve())] + [f"{f}:{(model_dir / f).stat().st_size}:{(model_dir / f).stat().st_mtime_ns}"
                                                    for f in weights])
    digest = hashlib.sha1(stamp.encode()).hexdigest()[:12]
    return cache_dir / f"{model_dir.name}-{digest}" / "model.onnx"


def mean_pooling(model_dir: Path) -> bool:
    """The ONNX path reimplements pooling; only mean pooling + normalize (MiniLM's setup) is supported."""
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
            out += self._encode(texts[i : i + batch_size], large=len(texts) > SMALL_BATCH)
        return out

    def encode_many(self, texts: list[str], workers: int = 0) -> list[list[float]]:
        """Ingest batches: runs of ``INGEST_RUN`` texts of similar length on ``workers`` threads (default:
        one per core), each run on the one-thread session.

        Why not the multi-threaded session: splitting one run across threads synchronises them for every
        operator, and a short run gives each thread little to do; whole runs in parallel keep every core
        busy on its own run (ONNX Runtime releases the GIL while it computes).
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths: little padding
        runs = [order[i : i + INGEST_RUN] for i in range(0, len(order), INGEST_RUN)]
        out: list[list[float]] = [[] for _ in texts]
        with ThreadPoolExecutor(max(1, workers or (os.cpu_count() or 1)), thread_name_prefix="embed") as pool:
            for run, vectors in zip(runs, pool.map(lambda r: self._encode([texts[i] for i in r], large=False), runs),
                                    strict=True):
                for i, vec in zip(run, vectors, strict=True):
                    out[i] = vec
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
