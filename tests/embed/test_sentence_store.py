"""The persistent abstract-sentence vector store (rag.embed.SentenceVectorStore) and its warm-up.

What users rely on: an answer about a paper this process has never seen reuses vectors computed by an
earlier process (so nothing is encoded before the answer starts), the stored vectors are the model's
vectors, and a broken store never breaks answers.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag import Engine
from rag.answer import extractive
from rag.embed import Embedder, SentenceVectorStore, model_key, start_warming
from tests.conftest import make_settings

QUESTION = "How does Tower+ balance translation quality with general chat ability?"
SENTENCES = ["Tower+ is a suite of models for translation and multilingual chat.",
             "We study empirical scaling laws for language model performance on the cross-entropy loss."]


@pytest.fixture
def index_copy(corpus_index, tmp_path):
    """A private copy of the bundled index, without any stored sentence vectors."""
    target = tmp_path / "index"
    shutil.copytree(corpus_index, target)
    (target / "sentence-vectors.sqlite").unlink(missing_ok=True)
    return target


def test_cold_paper_answer_reuses_vectors_persisted_by_an_earlier_process(index_copy):
    first = Engine(make_settings(index_copy, llm="extractive"))
    hits = first.search(QUESTION, k=5)
    before = extractive.score_sentences(QUESTION, hits, first.embedder)
    assert first.embedder.sentence_store.count() >= len(before)

    later = Engine(make_settings(index_copy, llm="extractive"))  # a restart: empty memory caches
    embedder = Embedder(later.settings)

    def no_model(texts):
        raise AssertionError(f"abstract sentences were encoded again: {texts[:1]}")

    embedder.embed_query(QUESTION)  # the question itself is always encoded
    embedder.embed_texts = no_model
    after = extractive.score_sentences(QUESTION, hits, embedder)
    assert [(s.source, s.sentence) for s in after] == [(s.source, s.sentence) for s in before]
    assert max(abs(a.score - b.score) for a, b in zip(after, before, strict=True)) < 1e-6


def test_stored_vectors_are_the_models_and_other_weights_never_share_them(tmp_path):
    embedder = Embedder(make_settings(tmp_path))
    fresh = np.asarray(embedder.embed_texts(SENTENCES), dtype=np.float32)
    embedder.embed_sentences(SENTENCES)
    stored = SentenceVectorStore(tmp_path / "sentence-vectors.sqlite", model_key(embedder.path)).get(SENTENCES)
    assert np.abs(np.stack([stored[s] for s in SENTENCES]) - fresh).max() < 1e-6
    other = SentenceVectorStore(tmp_path / "sentence-vectors.sqlite", "another-model|window=256")
    assert other.get(SENTENCES) == {}


def test_background_warm_up_stores_every_sentence_once(tmp_path):
    embedder = Embedder(make_settings(tmp_path))
    thread, _ = start_warming(embedder, lambda: SENTENCES * 2)
    thread.join(timeout=60)
    assert not thread.is_alive() and embedder.sentence_store.count() == len(SENTENCES)
    assert embedder.warm_sentences(SENTENCES) == 0  # nothing left to do


def test_unusable_store_only_costs_the_speed_up(tmp_path):
    (tmp_path / "sentence-vectors.sqlite").mkdir()  # a directory where the database file should be
    embedder = Embedder(make_settings(tmp_path))
    vectors = embedder.embed_sentences(SENTENCES)
    assert vectors.shape == (2, 384) and embedder.sentence_store.broken
    assert embedder.embed_sentences(SENTENCES).shape == (2, 384)  # memory cache still works
