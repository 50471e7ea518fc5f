"""The int8 ONNX model for ingest batches: made once, used for ingest-sized batches only, close to fp32,
and an index it builds counts as built by the same embedder (queried and extended with fp32 vectors).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag import Engine
from rag.embed import Embedder
from rag.embed.onnx_backend import SMALL_BATCH
from rag.embed.quantize import MIN_COSINE_TO_FP32
from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS, make_settings

#: Enough papers that the pipeline hands the embedder one ingest-sized batch (> SMALL_BATCH texts).
PAPERS = 80


@pytest.fixture(scope="module")
def papers():
    found, _ = load_corpus([CORPUS])
    return found[:PAPERS]


@pytest.fixture(scope="module")
def texts(papers) -> list[str]:
    return [f"{p.title}\n{p.abstract}" for p in papers]


@pytest.fixture(scope="module")
def int8(tmp_path_factory) -> Embedder:
    return Embedder(make_settings(tmp_path_factory.mktemp("int8"), embed_ingest_precision="int8"))


def _cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_int8_export_is_made_and_used_for_ingest_batches_only(int8, texts):
    assert int8.ingest_backend == "onnx-int8"
    assert int8.int8_file.is_file() and int8.int8_file.parent == int8.onnx_file.parent
    assert int8.int8_file.stat().st_size < int8.onnx_file.stat().st_size  # int8 weights, not a copy
    assert len(texts) > SMALL_BATCH
    ingest = np.asarray(int8.embed_texts(texts))
    fp32 = np.asarray(int8.onnx.encode(texts))
    assert np.allclose(ingest, np.asarray(int8.onnx_int8.encode_many(texts)), atol=1e-6)
    assert not np.allclose(ingest, fp32, atol=1e-4)  # really the quantized model
    cos = _cosines(ingest, fp32)
    assert cos.min() >= MIN_COSINE_TO_FP32, (cos.min(), cos.mean())
    assert np.allclose(np.linalg.norm(ingest, axis=1), 1, atol=1e-4)
    # Queries, small batches and abstract sentences (exact) stay fp32.
    assert np.allclose(int8.embed_texts(texts[:3]), fp32[:3], atol=1e-6)
    assert np.allclose(int8.embed_texts(texts, exact=True), fp32, atol=1e-5)
    assert np.allclose(int8.embed_query(texts[0]), fp32[0], atol=1e-6)


def test_encode_many_keeps_the_input_order(int8, texts):
    shuffled = texts[::-1][:20] + ["short"]
    many = np.asarray(int8.onnx.encode_many(shuffled, workers=2))  # fp32: runs of similar length, put back in order
    assert np.allclose(many, np.asarray(int8.onnx.encode(shuffled)), atol=1e-5)


@pytest.mark.parametrize(("backend", "precision", "expected"), [
    ("auto", "fp32", "torch"), ("onnx", "fp32", "onnx"), ("onnx", "int8", "onnx-int8"), ("torch", "int8", "torch")])
def test_ingest_backend_follows_the_settings(tmp_path, backend, precision, expected):
    embedder = Embedder(make_settings(tmp_path, embed_backend=backend, embed_ingest_precision=precision))
    assert embedder.ingest_backend == expected


def test_int8_index_counts_as_the_same_embedder(tmp_path, papers, int8):
    """Chosen: int8 ingest vectors stay within MIN_COSINE_TO_FP32 of fp32, so the index records the same
    model; an fp32 engine searches and extends it, and an int8 engine extends an fp32 index."""
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract}) + "\n" for p in papers))
    settings = make_settings(tmp_path / "index", llm="extractive")
    engine = Engine(settings.model_copy(update={"embed_ingest_precision": "int8"}))
    calls = []
    encode_many = engine.embedder.onnx_int8.encode_many
    engine.embedder.onnx_int8.encode_many = lambda t, *a, **k: calls.append(len(t)) or encode_many(t, *a, **k)
    engine.ingest([corpus])
    assert calls and max(calls) > SMALL_BATCH  # the papers went through the int8 model
    assert engine.store.metadata()["embedder"] == "all-minilm-l6-v2" == Embedder(settings).name

    exact = Engine(settings.model_copy(update={"embed_ingest_precision": "fp32", "embed_backend": "onnx"}))
    hits = exact.search(papers[5].title, k=3)
    assert papers[5].title in [h.title for h in hits]
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"title": "A paper added later", "abstract": "Speech recognition with transducers."}) + "\n")
    report = exact.ingest([corpus, extra])  # no EmbedderMismatch: same embedder
    assert report.added == 1 and report.unchanged == len(papers)
