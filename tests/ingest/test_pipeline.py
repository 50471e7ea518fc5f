"""Ingest is idempotent, incremental, prunes on request and completes an interrupted run exactly."""

from __future__ import annotations

import json

import pytest

from rag import CorpusError, Engine
from rag.store import Store
from tests.conftest import make_settings

PAPERS = [
    {"title": f"Paper {name}", "abstract": f"This abstract studies {topic}. It reports results on {topic} benchmarks."}
    for name, topic in [("Alpha", "protein folding"), ("Beta", "speech recognition"), ("Gamma", "code generation"),
                        ("Delta", "image segmentation"), ("Epsilon", "machine translation")]
]
LONG = {"title": "A Very Long Paper", "abstract": " ".join(f"Sentence {i} says something about long inputs." for i in range(80))}


def _jsonl(rows) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


@pytest.fixture
def small(write, tmp_path):
    path = write("papers.jsonl", _jsonl(PAPERS + [LONG]))
    return Engine(make_settings(tmp_path / "index", llm="extractive")), path


def test_reingest_is_a_noop(small):
    engine, path = small
    first = engine.ingest([path])
    assert (first.added, first.papers) == (6, 6)
    second = engine.ingest([path])
    assert (second.added, second.updated, second.unchanged, second.papers) == (0, 0, 6, 6)
    assert second.chunks == first.chunks


def test_long_abstract_is_split_not_truncated_and_title_leads_each_chunk(small):
    engine, path = small
    engine.ingest([path])
    table = engine.store.chunk_table()
    long_chunks = [cid for cid, m in table.items() if m["title"] == LONG["title"]]
    assert len(long_chunks) > 1
    docs = engine.store.collection.get(ids=long_chunks, include=["documents"])["documents"]
    assert all(d.startswith(LONG["title"] + "\n") for d in docs)
    assert all(engine.embedder.count_tokens(d) <= 254 for d in docs)
    text = " ".join(d.split("\n", 1)[1] for d in docs)
    assert "Sentence 0 " in text and "Sentence 79 " in text


def test_changed_abstract_replaces_its_chunks(small, write):
    engine, path = small
    engine.ingest([path])
    changed = [dict(p) for p in PAPERS] + [LONG]
    changed[0]["abstract"] = "A completely new abstract about graph neural networks."
    write("papers.jsonl", _jsonl(changed))
    report = engine.ingest([path])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 5)
    hits = engine.search("graph neural networks", k=1)
    assert hits[0].title == "Paper Alpha" and "graph neural" in hits[0].snippet


def test_prune_removes_papers_missing_from_sources(small, write):
    engine, path = small
    engine.ingest([path])
    write("papers.jsonl", _jsonl(PAPERS[:3]))
    kept = engine.ingest([path])
    assert kept.removed == 0 and kept.papers == 6, "without --prune nothing is removed"
    pruned = engine.ingest([path], prune=True)
    assert (pruned.removed, pruned.papers) == (3, 3)
    assert all(h.title in {p["title"] for p in PAPERS[:3]} for h in engine.search("benchmarks", k=10))


def test_bad_file_loses_nothing_already_indexed(small, write):
    engine, path = small
    engine.ingest([path])
    before = engine.store.count()
    bad = write("broken.jsonl", '{"title": "X", "abstract": "y"}\nnot json\n')
    with pytest.raises(CorpusError, match="broken.jsonl:2"):
        engine.ingest([path, bad])
    assert engine.store.count() == before


def test_interrupted_ingest_is_completed_exactly(small, monkeypatch):
    engine, path = small
    engine.settings.embed_batch_size = 1  # batches of 4 chunks: the failure lands mid-corpus
    calls = {"n": 0}
    original = Store.add_nodes

    def dying(self, nodes):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return original(self, nodes)

    monkeypatch.setattr(Store, "add_nodes", dying)
    with pytest.raises(KeyboardInterrupt):
        engine.ingest([path])
    partial = engine.store.count()
    assert partial > 0
    monkeypatch.setattr(Store, "add_nodes", original)
    report = engine.ingest([path])
    assert report.papers == 6
    table = engine.store.chunk_table()
    assert len(table) == report.chunks
    # every paper complete: chunk ids 0..n-1 present exactly once
    per_paper: dict[str, set[int]] = {}
    for meta in table.values():
        per_paper.setdefault(meta["paper_id"], set()).add(meta["chunk"])
    assert all(chunks == set(range(len(chunks))) for chunks in per_paper.values())
    # BM25 was rebuilt after the completed run: the lexical retriever sees every paper
    assert {h.title for h in engine.search("abstract studies", k=10, retriever="bm25")} >= {p["title"] for p in PAPERS}
