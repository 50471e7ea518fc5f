"""Metric definitions (issue 4), as small pure functions over normalized title keys.

Retrieval metrics use the paper-level ranking and only answerable questions; citation precision is
averaged over answerable questions that cite something, citation recall over all answerable ones;
refusal accuracy is over unanswerable questions, the false refusal rate over answerable ones.
A metric with no question to average over is ``None`` (``null`` in metrics.json), never a fake 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from rag.text import normalize_title, normalize_words


@dataclass
class QuestionResult:
    """What one question produced; one line of results.jsonl."""

    id: str
    kind: str
    question: str
    expected_titles: list[str]
    ranking: list[dict]  # [{"title", "score"}] paper-level ranking, best first (search with k=max(10, k))
    sources: list[str]  # titles handed to the answerer (the first k of the ranking)
    cited: list[str]  # cited titles, in order of first use
    refused: bool
    answer: str
    latency_ms: float
    mode: str = ""
    answer_keywords: list[str] = field(default_factory=list)
    notice: str = ""
    faithfulness: float | None = None  # LLM-as-judge share of supported sentences, when judged

    @property
    def answerable(self) -> bool:
        return bool(self.expected_titles)

    def keys(self) -> tuple[list[str], set[str], list[str]]:
        """(ranked keys, expected keys, cited keys) after title normalization."""
        return ([normalize_title(r["title"]) for r in self.ranking], {normalize_title(t) for t in self.expected_titles},
                [normalize_title(t) for t in self.cited])

    def to_dict(self) -> dict:
        return asdict(self)


# --- retrieval --------------------------------------------------------------------------------------
def hit_at(ranked: list[str], expected: set[str], k: int) -> float:
    return 1.0 if any(r in expected for r in ranked[:k]) else 0.0


def recall_at(ranked: list[str], expected: set[str], k: int) -> float:
    return len(expected & set(ranked[:k])) / len(expected) if expected else 0.0


def reciprocal_rank(ranked: list[str], expected: set[str]) -> float:
    """1 / rank of the first expected title; 0 when none is in the ranking."""
    return next((1.0 / i for i, r in enumerate(ranked, start=1) if r in expected), 0.0)


def ndcg_at(ranked: list[str], expected: set[str], k: int) -> float:
    """nDCG@k with binary relevance; the ideal ranking puts all expected titles first."""
    if not expected:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, r in enumerate(ranked[:k]):
        if r in expected and r not in seen:
            seen.add(r)
            dcg += 1.0 / math.log2(i + 2)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(expected), k)))
    return dcg / ideal


# --- citations and answers ----------------------------------------------------------------------------
def citation_precision(cited: list[str], expected: set[str]) -> float | None:
    """Share of cited titles that are expected; ``None`` when nothing is cited (not averaged)."""
    unique = set(cited)
    return len(unique & expected) / len(unique) if unique else None


def citation_recall(cited: list[str], expected: set[str]) -> float:
    return len(expected & set(cited)) / len(expected) if expected else 0.0


def keyword_recall(answer: str, keywords: list[str]) -> float | None:
    """Share of keywords present in the answer as whole words after normalization ("2.5x" == "2.5 x")."""
    wanted = [k for k in (normalize_words(k) for k in keywords) if k]
    if not wanted:
        return None
    text = f" {normalize_words(answer)} "
    return sum(f" {k} " in text for k in wanted) / len(wanted)


# --- aggregation ------------------------------------------------------------------------------------
def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (same as numpy's default), ``q`` in [0, 100]."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def per_question(res: QuestionResult) -> dict:
    """All per-question metric values (``None`` where the metric does not apply to this question)."""
    ranked, expected, cited = res.keys()
    answerable = res.answerable
    return {
        "hit@1": hit_at(ranked, expected, 1) if answerable else None,
        "hit@5": hit_at(ranked, expected, 5) if answerable else None,
        "recall@5": recall_at(ranked, expected, 5) if answerable else None,
        "mrr": reciprocal_rank(ranked[:10], expected) if answerable else None,
        "ndcg@10": ndcg_at(ranked, expected, 10) if answerable else None,
        "citation_precision": citation_precision(cited, expected) if answerable else None,
        "citation_recall": citation_recall(cited, expected) if answerable else None,
        "correct_decision": float(res.refused != answerable),  # refused iff unanswerable
        "keyword_recall": keyword_recall(res.answer, res.answer_keywords) if res.answer_keywords else None,
    }


def aggregate(results: list[QuestionResult], dataset: str, mode: str) -> dict:
    """metrics.json, with exactly the keys the issue specifies (plus ``faithfulness`` when judged)."""
    rows = [per_question(r) for r in results]
    answerable = [(r, m) for r, m in zip(results, rows, strict=True) if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def avg(key: str, pairs=answerable) -> float | None:
        return _r(mean(m[key] for _, m in pairs))

    by_kind: dict[str, list[tuple[QuestionResult, dict]]] = defaultdict(list)
    for r, m in zip(results, rows, strict=True):
        by_kind[r.kind].append((r, m))
    latencies = [r.latency_ms for r in results]
    metrics = {
        "dataset": dataset,
        "mode": mode,
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "retrieval": {key: avg(key) for key in ("hit@1", "hit@5", "recall@5", "mrr", "ndcg@10")},
        "citations": {"precision": avg("citation_precision"), "recall": avg("citation_recall")},
        "refusal": {
            "accuracy": _r(mean(float(r.refused) for r in unanswerable)),
            "false_refusal_rate": _r(mean(float(r.refused) for r, _ in answerable)),
        },
        "answer": {"keyword_recall": _r(mean(m["keyword_recall"] for m in rows))},
        "latency_ms": {"p50": _r(percentile(latencies, 50), 1), "p95": _r(percentile(latencies, 95), 1)},
        "by_kind": {
            kind: {
                "n": len(pairs),
                "hit@5": avg("hit@5", pairs),
                "mrr": avg("mrr", pairs),
                "citation_precision": avg("citation_precision", pairs),
                # share of questions of this kind where the refuse/answer decision was right
                "refusal_accuracy": avg("correct_decision", pairs),
            }
            for kind, pairs in sorted(by_kind.items())
        },
    }
    judged = [r.faithfulness for r in results if r.faithfulness is not None]
    if judged:
        metrics["faithfulness"] = _r(mean(judged))
    return metrics
