"""The ONNX Runtime backend must give the vectors of the torch (sentence-transformers) backend.

That equivalence is what lets `embed_backend=auto` switch to ONNX for a fast start without
re-ingesting, and keeps retrieval quality unchanged.
"""

from __future__ import annotations

import math

from rag.embed import Embedder
from tests.conftest import make_settings

TEXTS = [
    "Attention is all you need",
    "Scaling laws for neural language models\nWe study empirical scaling laws for language model performance.",
    "A very long abstract " + "with many repeated words about retrieval augmented generation " * 60,  # > 256 tokens
    "short",
]


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_onnx_vectors_match_torch(tmp_path):
    onnx = Embedder(make_settings(tmp_path, embed_backend="onnx"))
    torch = Embedder(make_settings(tmp_path, embed_backend="torch"))
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    a, b = onnx.embed_texts(TEXTS), torch.embed_texts(TEXTS)  # one padded batch: padding must not leak in
    for va, vb in zip(a, b, strict=True):
        assert len(va) == 384
        assert max(abs(x - y) for x, y in zip(va, vb, strict=True)) < 1e-4
        assert abs(math.sqrt(sum(x * x for x in va)) - 1) < 1e-4
    q = "how do language models scale?"
    assert _cos(onnx.embed_query(q), torch.embed_query(q)) > 0.99999
    assert onnx.embed_texts([TEXTS[1]])[0] == onnx.embed_texts(TEXTS[:2])[1] or \
        max(abs(x - y) for x, y in zip(onnx.embed_texts([TEXTS[1]])[0], a[1], strict=True)) < 1e-5


def test_auto_backend_is_onnx_and_export_is_reused(tmp_path):
    embedder = Embedder(make_settings(tmp_path))
    assert embedder.backend == "onnx"
    assert embedder.onnx_file.is_file() and embedder.onnx_file.parent.parent == embedder.settings.model_cache_dir


def test_query_cache_returns_equal_independent_vectors(tmp_path):
    embedder = Embedder(make_settings(tmp_path))
    first = embedder.embed_query("retrieval augmented generation")
    first[0] = 42.0  # a caller mutating its vector must not poison the cache
    again = embedder.embed_query("retrieval augmented generation")
    assert again[0] != 42.0 and again == embedder.embed_texts(["retrieval augmented generation"])[0]
