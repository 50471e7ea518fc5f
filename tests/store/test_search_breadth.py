"""Dense search is exact and repeatable on a corpus of this size (RAG_HNSW_EF_SEARCH, rag/store.py)."""

from __future__ import annotations

import json

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from rag.store import Store
from tests.conftest import ROOT, make_settings


def hnsw(store: Store) -> dict:
    return store.collection.configuration["hnsw"]


def test_an_index_made_with_chromas_default_breadth_is_raised(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    old = client.get_or_create_collection("papers", configuration={"hnsw": {"space": "cosine"}})
    old.add(ids=["a", "b"], embeddings=[[1.0, 0.0], [0.0, 1.0]])
    assert old.configuration["hnsw"]["ef_search"] == 100  # Chroma's default, what earlier releases created

    assert hnsw(Store(make_settings(tmp_path)))["ef_search"] == 1000
    assert hnsw(Store(make_settings(tmp_path, hnsw_ef_search=300)))["ef_search"] == 300
    assert Store(make_settings(tmp_path)).count() == 2  # nothing lost on the way


def test_dense_search_returns_the_exact_nearest_chunks(engine):
    """Every dev question's 40 nearest chunks (the candidates fusion sees) match a brute-force scan."""
    store = engine.store
    everything = store.collection.get(include=["embeddings"])
    ids, vectors = everything["ids"], np.asarray(everything["embeddings"], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    k = engine.settings.candidates
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "datasets" / "dev.jsonl").open()]
    missing = {}
    for question in questions:
        query = np.asarray(engine.embedder.embed_query(question), dtype=np.float32)
        exact = {ids[i] for i in np.argsort(-(vectors @ query))[:k]}
        got = set(store.query(query.tolist(), k)["ids"][0])
        if exact != got:
            missing[question] = len(exact - got)
    assert not missing, f"{sum(missing.values())} of the exact top-{k} missed over {len(missing)} questions"
