"""Ingest keeps the BM25 journal in step, so the index is re-scored without reading Chroma back; anything
that leaves it out of step (an interrupted ingest, a writer that did not follow it) refills it from Chroma."""

from __future__ import annotations

import json

import pytest

from rag import Engine
from tests.conftest import make_settings


def _papers(topics: list[str]) -> str:
    return "".join(json.dumps({"title": f"Paper {t}", "abstract": f"A study of {t} with new methods."}) + "\n"
                   for t in topics)


@pytest.fixture
def counted_reads(monkeypatch):
    """How many times the BM25 code read every chunk back from Chroma."""
    from rag.store import Store

    reads = []
    original = Store.all_chunks

    def all_chunks(self):
        reads.append(1)
        return original(self)

    monkeypatch.setattr(Store, "all_chunks", all_chunks)
    return reads


def test_ingests_update_the_index_without_reading_chroma(tmp_path, write, counted_reads):
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    path = write("p.jsonl", _papers(["graph networks", "speech recognition"]))
    engine.ingest([path])
    assert [h.title for h in engine.search("speech", k=1, retriever="bm25")] == ["Paper speech recognition"]
    write("p.jsonl", _papers(["graph networks", "protein folding"]))  # one paper replaced
    engine.ingest([path], prune=True)
    assert [h.title for h in engine.search("protein", k=1, retriever="bm25")] == ["Paper protein folding"]
    assert engine.search("speech", k=1, retriever="bm25") == []
    assert counted_reads == [], "the journal, not Chroma, fed the index"
    journal = engine.bm25.journal.state()
    assert journal["synced"] == engine.store.get_revision()

    reader = Engine(make_settings(tmp_path / "index", llm="extractive"))  # another process, same files
    assert [h.title for h in reader.search("graph", k=1, retriever="bm25")] == ["Paper graph networks"]
    assert counted_reads == []


def test_an_interrupted_ingest_leaves_the_journal_out_of_step_and_it_is_refilled(tmp_path, write, counted_reads,
                                                                                 monkeypatch):
    from rag.store import Store

    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    path = write("p.jsonl", _papers(["graph networks"]))
    engine.ingest([path])
    write("p.jsonl", _papers(["graph networks", "protein folding", "speech recognition"]))
    original = Store.add_nodes
    calls = []

    def add_then_die(self, nodes):
        original(self, nodes)  # Chroma got the chunks; the journal never hears of them
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "add_nodes", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        engine.ingest([path])
    assert calls and engine.bm25.journal.state()["synced"] == -1

    fresh = Engine(make_settings(tmp_path / "index", llm="extractive"))
    titles = {h.title for h in fresh.search("study methods", k=5, retriever="bm25")}
    assert {"Paper protein folding", "Paper speech recognition"} <= titles, "what Chroma holds is searchable"
    assert counted_reads == [1], "refilled from Chroma once"
    assert fresh.bm25.journal.state()["synced"] == fresh.store.get_revision()


def test_journal_and_a_rebuild_from_chroma_give_the_same_rankings(tmp_path, write):
    topics = ["graph neural networks", "speech recognition", "protein folding", "graph rewriting", "speech synthesis",
              "neural machine translation", "protein design with diffusion", "video diffusion models"]
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([write("p.jsonl", _papers(topics))])
    queries = ("graph", "speech models", "protein diffusion", "neural methods study")
    followed = {q: [(cid, round(s, 4)) for cid, _, _, s in engine.bm25.search(q, 20, [])] for q in queries}
    engine.bm25.rebuild()
    assert all(followed[q] for q in queries)
    for q in queries:
        assert [(cid, round(s, 4)) for cid, _, _, s in engine.bm25.search(q, 20, [])] == followed[q]


def test_a_damaged_journal_is_refilled(tmp_path, write):
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([write("p.jsonl", _papers(["graph networks", "speech recognition"]))])
    engine.bm25.journal.close()
    engine.bm25.journal.path.write_bytes(b"not a database" * 10)
    for extra in ("-wal", "-shm"):
        engine.bm25.journal.path.with_name(engine.bm25.journal.path.name + extra).unlink(missing_ok=True)
    engine.store.bump_revision()  # as another writer would: the saved index is stale
    fresh = Engine(make_settings(tmp_path / "index", llm="extractive"))
    assert [h.title for h in fresh.search("speech", k=1, retriever="bm25")] == ["Paper speech recognition"]


def test_a_search_elsewhere_during_an_ingest_keeps_answering_and_never_refills(tmp_path, write, counted_reads,
                                                                              monkeypatch):
    """A second process (here: a second engine, with its own lock handle) searching while an ingest writes
    must not refill the journal under the writer; it answers from the index it has, then sees the new papers."""
    from rag.store import Store

    path = write("p.jsonl", _papers(["graph networks"]))
    writer = Engine(make_settings(tmp_path / "index", llm="extractive"))
    writer.ingest([path])
    reader = Engine(make_settings(tmp_path / "index", llm="extractive"))
    assert [h.title for h in reader.search("graph", k=1, retriever="bm25")] == ["Paper graph networks"]
    seen = []
    original = Store.add_nodes

    def add_and_search(self, nodes):
        original(self, nodes)
        seen.append([h.title for h in reader.search("graph study", k=5, retriever="bm25")])

    monkeypatch.setattr(Store, "add_nodes", add_and_search)
    write("p.jsonl", _papers(["graph networks", "graph rewriting"]))
    writer.ingest([path])
    assert seen == [["Paper graph networks"]], "mid-ingest the reader answered from the index it had"
    assert counted_reads == [], "nobody refilled the journal from Chroma"
    titles = {h.title for h in reader.search("graph study", k=5, retriever="bm25")}
    assert titles == {"Paper graph networks", "Paper graph rewriting"}
