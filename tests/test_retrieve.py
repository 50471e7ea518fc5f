"""Hybrid retrieval over the bundled corpus: ranking, paper collapse, filters, modes."""

from __future__ import annotations

from datetime import date

import pytest

from rag import EmptyIndex, Engine, Filters
from tests.conftest import make_settings

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_retriever_finds_tower_plus(engine, mode):
    hits = engine.search("How does Tower+ balance translation quality with general chat ability?", k=5, retriever=mode)
    assert TOWER in [h.title for h in hits]


def test_hits_are_unique_papers_with_evidence(engine):
    hits = engine.search("continual pretraining learning rate schedule", k=10)
    assert len(hits) == 10
    assert len({h.paper_id for h in hits}) == 10
    assert all(h.snippet and h.abstract and h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_paraphrased_question_finds_paper_by_meaning(engine):
    hits = engine.search("reusing a multilingual speech model for an endangered language from Japan", k=3)
    assert any("Underresourced Language" in h.title for h in hits)


def test_date_filter_keeps_only_dated_papers_in_range(engine):
    hits = engine.search("pretraining", k=20, filters=Filters.years(2024, 2024))
    assert hits
    assert all(h.date.startswith("2024") for h in hits)


def test_source_filter(engine):
    source = engine.stats()["sources"][1]
    hits = engine.search("pretraining", k=15, filters=Filters(sources=[source]))
    assert hits and all(source in h.sources for h in hits)


def test_date_range_is_inclusive(engine):
    hits = engine.search("slide representation pathology", k=5,
                         filters=Filters(date_from=date(2024, 8, 5), date_to=date(2024, 8, 5)))
    assert [h.title for h in hits] == ["Multistain Pretraining for Slide Representation Learning in Pathology"]


def test_empty_index_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyIndex, match="rag ingest"):
        Engine(make_settings(tmp_path / "empty")).search("anything")


@pytest.mark.parametrize(("query", "title_start"), [
    ("What does the MosiacBERT paper propose?", "MosaicBERT:"),
    ("EfficentSAM", "EfficientSAM:"),
    ("olmo 2 furius", "2 OLMo 2 Furious"),
    ("lm-ent suite", "LMEnt:"),  # a name split where the corpus writes it as one word
    ("What does the mosaic bert paper contribute?", "MosaicBERT:"),  # two corpus words a title writes as one name
    ("ponder lm 2", "PonderLM-2:"),
])
def test_misspelled_names_are_corrected_and_ranked_first(engine, query, title_start):
    assert engine.search(query)[0].title.startswith(title_start)


def test_spelling_correction_leaves_known_words_alone(engine):
    assert engine.bm25.corrections("How does Tower+ balance translation quality with general chat ability?") == []
    assert engine.bm25.corrections("What does the MosiacBERT paper propose?") == ["mosaicbert"]


def test_a_name_written_apart_from_its_version_gets_the_title_vote(engine):
    """"dino v2" is the DINOv2 paper: the glued spelling votes for the title that writes it, as a corrected
    misspelling does, and the title that only shares the version ("ptt5-v2") gets no vote."""
    from rag.retrieve import _Chunk, _glued_spellings
    from rag.terms import split_spellings

    assert _glued_spellings(split_spellings("dino v2 features")) == ["dinov2"]
    assert _glued_spellings(split_spellings("codet5 plus paper")) == ["codet5+"]
    assert _glued_spellings(split_spellings("what is dinov2")) == []  # already glued: BM25 and the dense list find it
    chunks = [_Chunk("a:0", "x", {"paper_id": "a", "title": "ptt5-v2: A Closer Look at T5 for Portuguese"}, 0.9),
              _Chunk("b:0", "x", {"paper_id": "b", "title": "DINOv2: Learning Robust Visual Features"}, 0.5)]
    voted = engine.retriever.titled(_glued_spellings(split_spellings("dino v2 features")), chunks)
    assert [c.meta["paper_id"] for c in voted] == ["b"]


def test_words_written_apart_vote_only_for_a_title_that_writes_them_as_one_name(engine):
    """"mosaic bert" is MosaicBERT; "pre training" does not vote for every "Pre-training" title."""
    from rag.answerable import word_runs
    from rag.retrieve import _Chunk

    chunks = [_Chunk("a:0", "x", {"paper_id": "a", "title": "Pre-training Distillation for Large Language Models"}, 0.9),
              _Chunk("b:0", "x", {"paper_id": "b", "title": "MosaicBERT: A Bidirectional Encoder"}, 0.5)]
    voted = engine.retriever.titled([], chunks, word_runs("mosaic bert pre training"))
    assert [c.meta["paper_id"] for c in voted] == ["b"]
    assert engine.retriever.titled([], chunks, word_runs("bert pre training")) == []
