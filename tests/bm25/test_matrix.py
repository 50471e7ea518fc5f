"""The vectorised scorer gives bm25s's own index, number for number, on the real corpus."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tokenised(engine):
    """The bundled corpus's chunks as (token id lists, vocabulary), tokenised the way the journal does."""
    texts = [text for _, text, _ in engine.store.all_chunks()]
    words = engine.bm25.journal.tokenize(texts)
    vocab: dict[str, int] = {}
    return [[vocab.setdefault(w, len(vocab)) for w in doc] for doc in words], vocab


def test_scores_match_bm25s_index(tokenised):
    import bm25s

    from rag.bm25.matrix import score

    docs, vocab = tokenised
    reference = bm25s.BM25()
    reference.index((docs, dict(vocab)), show_progress=False)
    lens = np.array([len(d) for d in docs])
    mine = score(np.concatenate([np.asarray(d, dtype=np.int32) for d in docs]), lens, vocab)
    ref, got = reference.scores, mine.scores
    n = len(vocab)
    assert got["num_docs"] == ref["num_docs"] == len(docs)
    assert np.array_equal(got["indptr"][: n + 1], ref["indptr"][: n + 1])
    assert np.array_equal(got["indices"], ref["indices"])
    assert np.allclose(got["data"], ref["data"], rtol=1e-6, atol=1e-7)
    assert mine.vocab_dict == reference.vocab_dict  # the empty token included
    queries = [["model", "languag"], ["diffus", "video"], ["protein"], ["zzzz"]]
    for q in queries:
        a = reference.retrieve([q], k=10, show_progress=False)
        b = mine.retrieve([q], k=10, show_progress=False)
        assert np.allclose(a[1], b[1], rtol=1e-6)
        top = a[1][0] > 0
        assert np.array_equal(a[0][0][top], b[0][0][top])


def test_documents_without_tokens_and_an_empty_vocabulary():
    from rag.bm25.matrix import score

    model = score(np.array([], dtype=np.int32), np.array([0, 0]), {})
    assert model.scores["num_docs"] == 2 and model.vocab_dict == {"": 0}
    ids, scores = model.retrieve([["anything"]], k=2, show_progress=False)
    assert (scores == 0).all()
