"""Synthetic papers (rag.bench.synthetic): findable by their own words and built through the engine."""

from __future__ import annotations

import json

import numpy as np

from rag import Engine
from rag.bench import build_synthetic
from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS, make_settings


def _real_index(tmp_path):
    papers, _ = load_corpus([CORPUS])
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers[:8]) + "\n")
    settings = make_settings(tmp_path / "real", llm="extractive")
    Engine(settings).ingest([corpus])
    return settings


def test_synthetic_index_is_searchable_by_its_own_text(tmp_path):
    """Synthetic papers must be findable by their words (BM25) and near their parents (vectors)."""
    settings = _real_index(tmp_path)
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
    assert not info["reused"] and engine.bm25.journal.state()["synced"] == engine.store.get_revision(), \
        "the BM25 journal followed the inserts"


def test_a_kept_synthetic_index_is_reused_and_its_bm25_scored_again(tmp_path, monkeypatch):
    from rag.store import Store

    settings = _real_index(tmp_path)
    first_dir, first = build_synthetic(settings, tmp_path / "real", 20, tmp_path / "work", source_collection="papers",
                                       cache=tmp_path / "keep")
    assert first_dir == tmp_path / "keep" / "synthetic-20" and not first["reused"]
    inserts = []
    monkeypatch.setattr(Store, "bump_revision", lambda self: inserts.append(1))
    again_dir, again = build_synthetic(settings, tmp_path / "real", 20, tmp_path / "work2", source_collection="papers",
                                       cache=tmp_path / "keep")
    assert again_dir == first_dir and again["reused"] and inserts == []
    assert again["insert_s"] == first["insert_s"] and again["bm25_build_s"] >= 0
    (again_dir / "bm25" / "synthetic" / "journal.sqlite").unlink()  # kept without a journal: filled from Chroma
    _, filled = build_synthetic(settings, tmp_path / "real", 20, tmp_path / "work4", source_collection="papers",
                                cache=tmp_path / "keep")
    assert filled["reused"] and filled["journal_from_chroma_s"] >= 0
    assert (again_dir / "bm25" / "synthetic" / "index" / "rows.npy").exists(), "and its index scored and saved"
    engine = Engine(make_settings(again_dir, collection="synthetic"))
    assert engine.stats()["papers"] == 20
    target = engine.store.collection.get(ids=["syn0000003:0"], include=["metadatas"])["metadatas"][0]
    assert engine.search(target["abstract"], k=1, retriever="bm25")[0].paper_id == "syn0000003"
    _, other = build_synthetic(settings, tmp_path / "real", 10, tmp_path / "work3", source_collection="papers",
                               cache=tmp_path / "keep")
    assert not other["reused"], "another size is built, not taken from the kept one"
