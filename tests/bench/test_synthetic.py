"""Synthetic papers (rag.bench.synthetic): findable by their own words and built through the engine."""

from __future__ import annotations

import json

import numpy as np

from rag import Engine
from rag.bench import build_synthetic
from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS, make_settings


def test_synthetic_index_is_searchable_by_its_own_text(tmp_path):
    """Synthetic papers must be findable by their words (BM25) and near their parents (vectors)."""
    papers, _ = load_corpus([CORPUS])
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers[:8]) + "\n")
    settings = make_settings(tmp_path / "real", llm="extractive")
    Engine(settings).ingest([corpus])
    # batches of 7: the last one is short, and each is generated while the previous one is inserted
    index_dir, info = build_synthetic(settings, tmp_path / "real", 30, tmp_path, source_collection="papers", batch=7)
    engine = Engine(make_settings(index_dir, collection="synthetic"))
    assert engine.stats()["papers"] == 30 and info["parents"] == 8 and info["batch"] == 7
    got = engine.store.collection.get(include=["embeddings"])
    assert sorted(got["ids"]) == [f"syn{i:07d}:0" for i in range(30)]
    assert np.allclose(np.linalg.norm(np.asarray(got["embeddings"]), axis=1), 1.0, atol=1e-5)
    target = engine.store.collection.get(ids=["syn0000017:0"], include=["metadatas"])["metadatas"][0]
    hits = engine.search(target["abstract"], k=3, retriever="bm25")
    assert hits[0].paper_id == "syn0000017"
