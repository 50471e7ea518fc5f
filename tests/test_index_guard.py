"""The emptiness check of ``Engine.search`` (rag.index_guard): counted once per collection revision, never
trusted past an ingest of this process or another one, and an emptied index always reported as empty."""

from __future__ import annotations

import json

import pytest

from rag import EmptyIndex, Engine
from rag.errors import EmbedderMismatch
from tests.conftest import make_settings

PAPERS = [{"title": f"Paper {name}", "abstract": f"This abstract studies {topic}. It reports results on {topic}."}
          for name, topic in [("Alpha", "protein folding"), ("Beta", "speech recognition"), ("Gamma", "code generation")]]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An index of three papers, built once; each test works on its own copy."""
    root = tmp_path_factory.mktemp("guard")
    corpus = root / "papers.jsonl"
    corpus.write_text("\n".join(json.dumps(p) for p in PAPERS) + "\n")
    Engine(make_settings(root / "index")).ingest([corpus])
    return root


@pytest.fixture
def index(built, tmp_path):
    import shutil

    shutil.copytree(built / "index", tmp_path / "index")
    return tmp_path / "index"


def _counting(engine: Engine) -> list[int]:
    """Record every ``store.count()`` of ``engine`` (the scan this cache exists to avoid)."""
    calls: list[int] = []
    real = engine.store.count

    def count() -> int:
        calls.append(1)
        return real()

    engine.store.count = count
    return calls


def test_searches_at_one_revision_count_once(index):
    engine = Engine(make_settings(index, llm="extractive"))
    calls = _counting(engine)
    for query in ("protein folding", "speech recognition", "code generation"):
        assert engine.search(query, k=2)
    assert len(calls) == 1
    assert engine.search("protein", k=1, retriever="dense")[0].title == "Paper Alpha"
    assert len(calls) == 1, "the dense channel does not count either (Chroma clamps n_results itself)"


def test_an_ingest_by_this_engine_makes_it_count_again(index, tmp_path):
    engine = Engine(make_settings(index, llm="extractive"))
    calls = _counting(engine)
    engine.search("protein folding", k=2)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"title": "Paper Delta", "abstract": "This abstract studies image segmentation."}) + "\n")
    engine.ingest([other], prune=True)
    before = len(calls)
    assert [h.title for h in engine.search("image segmentation", k=3)] == ["Paper Delta"]
    assert len(calls) == before + 1


def test_a_prune_by_another_process_that_empties_the_index_is_seen(index):
    reader = Engine(make_settings(index, llm="extractive"))
    assert reader.search("protein folding", k=2)
    writer = Engine(make_settings(index))  # its own Store and collection object, as in another process
    ids = list(writer.store.chunk_table())
    writer.store.bump_revision()  # what an ingest with --prune does before deleting (rag.ingest.pipeline)
    writer.store.delete(ids)
    with pytest.raises(EmptyIndex, match="rag ingest"):
        reader.search("protein folding", k=2)
    assert reader.is_empty()


def test_an_index_emptied_after_its_revision_was_counted_is_reported_empty(index):
    """A search that counted while an ingest was deleting (same revision) must not answer from the cache."""
    reader = Engine(make_settings(index, llm="extractive"))
    writer = Engine(make_settings(index))
    ids = list(writer.store.chunk_table())
    writer.store.bump_revision()
    assert reader.search("protein folding", k=2, retriever="dense")  # counted non-empty at the new revision
    writer.store.delete(ids)  # the rest of that ingest: no new revision
    with pytest.raises(EmptyIndex, match="rag ingest"):
        reader.search("protein folding", k=2, retriever="dense")


def test_empty_index_raises_on_every_search(tmp_path):
    engine = Engine(make_settings(tmp_path / "empty"))
    for _ in range(2):  # an empty index is never cached as checked
        with pytest.raises(EmptyIndex):
            engine.search("anything")
    assert engine.is_empty()


def test_embedder_mismatch_is_still_refused(index):
    Engine(make_settings(index)).store.update_metadata({"embedder": "someone/else", "embed_dim": 384})
    with pytest.raises(EmbedderMismatch, match="someone/else"):
        Engine(make_settings(index, llm="extractive")).search("protein folding")
