"""The ranking pieces of tools/compare_retrieval.py: fusion as the product does it, RM3 weights, exact cosine."""

from __future__ import annotations

import numpy as np

from tools.retrieval_variants import Chunks, DenseIndex, Ranked, collapse, expansion_terms, rm3_scores, rrf


def test_collapse_keeps_each_paper_at_its_best_chunk():
    ranked = collapse([("a", 0.9), ("b", 0.8), ("a", 0.7), ("c", 0.6)])
    assert ranked.papers == ["a", "b", "c"] and ranked.scores == {"a": 0.9, "b": 0.8, "c": 0.6}


def test_rrf_sums_reciprocal_ranks_and_breaks_ties_by_the_tiebreak_score():
    dense = Ranked(["a", "b"], {"a": 0.2, "b": 0.9})
    lexical = Ranked(["b", "a"], {"b": 5.0, "a": 4.0})
    # a and b tie at 1/61 + 1/62: the higher dense cosine (b) goes first
    assert rrf([dense, lexical], k=60, tiebreak=dense) == ["b", "a"]
    # k=1: c = 1/2 + 1/2, b = 1/2 + 1/3, a = 1/3 + 1/3
    assert rrf([Ranked(["c", "a"], {}), Ranked(["b", "a"], {}), Ranked(["c", "b"], {})], k=1) == ["c", "b", "a"]
    assert rrf([dense, lexical], k=60, weights=[1.0, 0.0]) == ["a", "b"]


def test_expansion_terms_skip_query_terms_and_sum_to_one():
    vocab = np.array(["alpha", "beta", "gamma", "delta"])
    rows = np.array([[0.9, 0.1, 0.0, 0.6], [0.7, 0.3, 0.0, 0.0]])
    terms = expansion_terms(rows, vocab, exclude={"alpha"}, n=2)
    assert list(terms) == ["delta", "beta"]
    assert abs(sum(terms.values()) - 1.0) < 1e-9 and terms["delta"] > terms["beta"]
    assert expansion_terms(rows, vocab, exclude=set(), n=0) == {}


def test_rm3_keeps_the_original_scores_and_adds_the_weighted_feedback():
    base = np.array([2.0, 0.0, 1.0])
    term_scores = {"x": np.array([0.0, 3.0, 1.0])}
    assert rm3_scores(base, term_scores, {"x": 1.0}, lam=0.0, query_len=2) is base
    # lam 0.5, two query terms: base + 1 * 2 * BM25(x)
    assert np.allclose(rm3_scores(base, term_scores, {"x": 1.0}, lam=0.5, query_len=2), [2.0, 6.0, 3.0])


def test_dense_index_ranks_papers_by_cosine_of_their_best_chunk():
    chunks = Chunks(["p1:0", "p1:1", "p2:0"], ["", "", ""], [{"paper_id": "p1"}, {"paper_id": "p1"}, {}])
    index = DenseIndex(chunks, np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    ranked = index.search(np.array([0.0, 1.0]), n=3)
    assert ranked.papers == ["p1", "p2"]
    assert abs(ranked.scores["p1"] - 1.0) < 1e-9 and abs(ranked.scores["p2"] - 2 ** -0.5) < 1e-9
