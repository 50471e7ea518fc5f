"""Metric definitions checked against hand-computed values on small cases."""

from __future__ import annotations

import math

import pytest

from rag.evaluation.metrics import (
    QuestionResult,
    aggregate,
    citation_precision,
    citation_recall,
    hit_at,
    keyword_recall,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
)

RANKED = ["a", "b", "c", "d", "e", "f"]


def test_hit_recall_and_reciprocal_rank():
    assert hit_at(RANKED, {"c"}, 1) == 0.0
    assert hit_at(RANKED, {"c"}, 5) == 1.0
    assert hit_at(RANKED, {"f"}, 5) == 0.0
    assert recall_at(RANKED, {"b", "e", "z"}, 5) == pytest.approx(2 / 3)
    assert reciprocal_rank(RANKED, {"c", "e"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, {"z"}) == 0.0


def test_ndcg_binary_relevance():
    # relevant at ranks 2 and 4; ideal puts them at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(RANKED, {"b", "d"}, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(RANKED, {"a"}, 10) == 1.0
    assert ndcg_at(RANKED, {"z"}, 10) == 0.0
    assert ndcg_at(RANKED, {"f"}, 5) == 0.0  # outside the cut-off


def test_citation_precision_and_recall():
    assert citation_precision(["a", "b", "c"], {"a", "c", "x"}) == pytest.approx(2 / 3)
    assert citation_precision([], {"a"}) is None  # not averaged: nothing was cited
    assert citation_recall(["a"], {"a", "x"}) == 0.5
    assert citation_recall([], {"a"}) == 0.0


def test_keyword_recall_normalizes_case_and_punctuation():
    answer = "MediSwift cuts training FLOPs by up to 2.5x at 75% weight sparsity [1]."
    assert keyword_recall(answer, ["2.5x", "75%"]) == 1.0
    assert keyword_recall(answer, ["2.5X", "90%"]) == 0.5
    assert keyword_recall("trained on 140.4B tokens", ["40.4"]) == 0.0  # whole words only
    assert keyword_recall(answer, []) is None


def test_percentile_interpolates_like_numpy():
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([], 50) is None


def _result(qid, kind, expected, ranking, cited, refused, latency, answer="", keywords=()):
    return QuestionResult(id=qid, kind=kind, question=qid, expected_titles=list(expected),
                          ranking=[{"title": t, "score": 1.0} for t in ranking], sources=list(ranking[:5]),
                          cited=list(cited), refused=refused, answer=answer, latency_ms=latency,
                          answer_keywords=list(keywords))


def test_aggregate_matches_hand_computed_values_and_has_the_documented_keys():
    results = [
        # answerable, expected at rank 1, cited correctly, keyword present. Title case differs: still a match.
        _result("q1", "fact", ["Paper A"], ["paper a", "Paper B"], ["Paper A"], False, 100, "x is 42 [1]", ["42"]),
        # answerable, expected at rank 3, cites one right and one wrong title
        _result("q2", "multi", ["Paper C", "Paper D"], ["Paper A", "Paper B", "Paper C"], ["Paper C", "Paper B"],
                False, 300),
        # answerable but refused: a false refusal, recall 0, no precision
        _result("q3", "fact", ["Paper E"], ["Paper X"], [], True, 200, "refused", ["7"]),
        # unanswerable: one refused, one answered
        _result("q4", "unanswerable", [], ["Paper A"], [], True, 50),
        _result("q5", "unanswerable", [], ["Paper B"], ["Paper B"], False, 400),
    ]
    m = aggregate(results, "tiny.jsonl", "extractive")
    assert set(m) == {"dataset", "mode", "n", "n_answerable", "n_unanswerable", "retrieval", "citations", "refusal",
                      "answer", "latency_ms", "by_kind"}
    assert set(m["retrieval"]) == {"hit@1", "hit@5", "recall@5", "mrr", "ndcg@10"}
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (5, 3, 2)
    assert m["retrieval"]["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["retrieval"]["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["retrieval"]["recall@5"] == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)
    assert m["retrieval"]["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)
    ndcg_q2 = (1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["retrieval"]["ndcg@10"] == pytest.approx((1 + ndcg_q2 + 0) / 3, abs=1e-4)
    assert m["citations"] == {"precision": pytest.approx((1 + 0.5) / 2, abs=1e-4),
                              "recall": pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)}
    assert m["refusal"] == {"accuracy": 0.5, "false_refusal_rate": pytest.approx(1 / 3, abs=1e-4)}
    assert m["answer"]["keyword_recall"] == 0.5  # q1 found, q3 (refused) not
    assert m["latency_ms"] == {"p50": 200, "p95": pytest.approx(380, abs=0.1)}
    assert m["by_kind"]["fact"] == {"n": 2, "hit@5": 0.5, "mrr": 0.5, "citation_precision": 1.0,
                                    "refusal_accuracy": 0.5}
    assert m["by_kind"]["unanswerable"]["refusal_accuracy"] == 0.5
    assert m["by_kind"]["unanswerable"]["hit@5"] is None  # no answerable question to average over
