"""Calibrate the refusal gate (and check extractive composition) on a dev set.

For every question it runs the same retrieval and sentence scoring as ``Engine.stream`` and records
the evidence features the gate could use. It then prints, for the gate's feature
(:func:`rag.refusal.evidence_score`) and the alternatives, the threshold that keeps false refusals
<= --max-frr while refusing the most unanswerable questions, plus a two-fold split (tune on the
even-numbered questions, check on the odd ones and vice versa) so over-fitting shows. With
``--table`` it prints threshold vs refusal accuracy vs false refusal rate for the gate feature.
``--coverage`` prints the answerability threshold (:mod:`rag.answerable`) against refusal accuracy and
false refusals for the whole gate (both checks, the similarity threshold as configured): the table
DEFAULT_COVERAGE in rag/refusal.py was chosen from. ``--compose`` sweeps the extractive composer's
parameters for citation precision/recall, ``--relevance`` the weights of sentence scoring
(rag.answer.extractive: PAPER_WEIGHT, BM25_WEIGHT, TERMS_WEIGHT) for the citation precision/recall of
the extractive answer to every question the gate lets through.

    RAG_INDEX_DIR=.rag/index python eval/calibrate_refusal.py --dataset eval/datasets/dev.jsonl --table --coverage

Numbers are written to stdout only; copy the chosen threshold into rag/refusal.py DEFAULT_THRESHOLD.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from tqdm import tqdm

from rag import Engine
from rag.answer import extractive
from rag.evaluation.dataset import load_dataset
from rag.evaluation.metrics import citation_precision, citation_recall, mean
from rag.ingest.text import normalize_title
from rag.refusal import Gate, evidence_score

FEATURES = {
    "gate (evidence_score)": lambda q, hits, scored: evidence_score(hits, scored, q),
    "blend, no lookup rule": lambda q, hits, scored: evidence_score(hits, scored),
    "sentence cosine": lambda q, hits, scored: max((s.cos for s in scored), default=0.0),
    "chunk cosine": lambda q, hits, scored: max((h.dense for h in hits), default=0.0),
}


def collect(engine: Engine, items, k: int) -> list[dict]:
    """Per question: answerable flag, feature values, and the scored sentences for the compose sweep."""
    rows = []
    for item in tqdm(items, desc="features", unit="q", file=sys.stderr):
        hits = engine.search(item.question, k=k)
        scored = engine.score_sentences(item.question, hits)
        rows.append({"item": item, "hits": hits, "scored": scored,
                     **{name: fn(item.question, hits, scored) if hits else 0.0 for name, fn in FEATURES.items()}})
    return rows


def rates(rows: list[dict], feature: str, threshold: float) -> tuple[float, float]:
    """(refusal accuracy, false refusal rate) when refusing below ``threshold``."""
    ans = [r[feature] for r in rows if r["item"].answerable]
    una = [r[feature] for r in rows if not r["item"].answerable]
    return (sum(v < threshold for v in una) / max(1, len(una)), sum(v < threshold for v in ans) / max(1, len(ans)))


def choose(rows: list[dict], feature: str, max_frr: float) -> tuple[float, float, float]:
    """Highest refusal accuracy with false refusals <= max_frr; ties go to the lower threshold."""
    best = (0.0, 0.0, 0.0)
    for t in sorted({round(r[feature], 3) for r in rows}):
        acc, frr = rates(rows, feature, t)
        if frr <= max_frr and acc > best[1]:
            best = (t, acc, frr)
    return best


def coverage_table(engine: Engine, rows: list[dict]) -> None:
    """Refusal accuracy / false refusals of the whole gate for a range of answerability thresholds."""
    print(f"\nwhole gate (similarity threshold {engine.settings.refusal_threshold}) vs answerability threshold")
    print(f"{'coverage':>9} {'refusal acc':>11} {'false ref.':>10}")
    for t in [x / 100 for x in range(0, 101, 10)]:
        gate = Gate(engine.embedder, engine.bm25, engine.settings.refusal_threshold, t)
        refused = [(r["item"].answerable, gate.decide(r["item"].question, r["hits"], r["scored"]).refuse) for r in rows]
        una = [ref for answerable, ref in refused if not answerable]
        ans = [ref for answerable, ref in refused if answerable]
        print(f"{t:>9.2f} {mean([float(x) for x in una]):>11.3f} {mean([float(x) for x in ans]):>10.3f}")


def compose_sweep(rows: list[dict]) -> None:
    answerable = [r for r in rows if r["item"].answerable and r["scored"]]
    print("\nExtractive compose() sweep over answerable questions (gate not applied):")
    print(f"{'margin':>7} {'max_sent':>8} {'per_paper':>9} {'cit.prec':>9} {'cit.recall':>10}")
    for margin, max_sentences, per_paper in itertools.product((0.02, 0.04, 0.06, 0.08, 0.12), (1, 2, 3, 4), (1, 2)):
        precision, recall = [], []
        for r in answerable:
            picked = extractive.compose(r["scored"], max_sentences=max_sentences, per_paper=per_paper, margin=margin)
            cited = [normalize_title(r["hits"][s.source - 1].title) for s in picked]
            expected = r["item"].expected_keys
            precision.append(citation_precision(cited, expected))
            recall.append(citation_recall(cited, expected))
        print(f"{margin:>7.2f} {max_sentences:>8} {per_paper:>9} {mean(precision):>9.3f} {mean(recall):>10.3f}")


def relevance_sweep(engine: Engine, rows: list[dict]) -> None:
    """Citation precision/recall of the extractive answer (compose_for, as Engine._extractive) per weighting."""
    kept = [r for r in rows if r["item"].answerable and r["scored"]
            and not engine.gate.decide(r["item"].question, r["hits"], r["scored"]).refuse]
    idf = engine.gate.idf()
    print(f"\nSentence-scoring weights, extractive answers to the {len(kept)} answerable questions the gate passes:")
    print(f"{'paper':>6} {'bm25':>5} {'terms':>6} {'cit.prec':>9} {'cit.recall':>10}")
    grid = list(itertools.product((0.5, 0.6, 0.7, 0.8, 0.9), (0.0, 0.1, 0.15, 0.2), (0.0, 0.1, 0.2, 0.3)))
    for paper, bm25, terms in grid:
        precision, recall = [], []
        for r in kept:
            question, hits = r["item"].question, r["hits"]
            scored = extractive.score_sentences(question, hits, engine.embedder, idf, paper, bm25, terms)
            cited = [normalize_title(hits[s.source - 1].title) for s in extractive.compose_for(question, hits, scored)]
            precision.append(citation_precision(cited, r["item"].expected_keys))
            recall.append(citation_recall(cited, r["item"].expected_keys))
        print(f"{paper:>6.2f} {bm25:>5.2f} {terms:>6.2f} {mean(precision):>9.3f} {mean(recall):>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("eval/datasets/dev.jsonl"))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-frr", type=float, default=0.05, help="Largest acceptable false refusal rate.")
    parser.add_argument("--table", action="store_true", help="Print threshold vs accuracy vs false refusals.")
    parser.add_argument("--coverage", action="store_true", help="Sweep the answerability threshold (whole gate).")
    parser.add_argument("--compose", action="store_true", help="Also sweep extractive compose() parameters.")
    parser.add_argument("--relevance", action="store_true", help="Sweep the sentence-scoring weights.")
    args = parser.parse_args()

    engine = Engine.from_env()
    items = load_dataset(args.dataset)
    rows = collect(engine, items, args.k)
    n_una = sum(not r["item"].answerable for r in rows)
    print(f"{len(rows)} questions ({len(rows) - n_una} answerable, {n_una} unanswerable); "
          f"current threshold {engine.settings.refusal_threshold}")
    even, odd = rows[::2], rows[1::2]
    print(f"\n{'feature':<24} {'threshold':>9} {'refusal acc':>11} {'false ref.':>10} | two-fold check (acc/frr)")
    for feature in FEATURES:
        t, acc, frr = choose(rows, feature, args.max_frr)
        ta, tb = choose(even, feature, args.max_frr)[0], choose(odd, feature, args.max_frr)[0]
        (acc_b, frr_b), (acc_a, frr_a) = rates(odd, feature, ta), rates(even, feature, tb)
        print(f"{feature:<24} {t:>9.3f} {acc:>11.3f} {frr:>10.3f} | even->odd {acc_b:.3f}/{frr_b:.3f}, "
              f"odd->even {acc_a:.3f}/{frr_a:.3f}")
    if args.table:
        feature = "gate (evidence_score)"
        print(f"\n{feature}: threshold vs refusal accuracy vs false refusal rate")
        print(f"{'threshold':>9} {'refusal acc':>11} {'false ref.':>10}")
        for t in [x / 100 for x in range(20, 71, 2)]:
            acc, frr = rates(rows, feature, t)
            print(f"{t:>9.2f} {acc:>11.3f} {frr:>10.3f}")
    if args.coverage:
        coverage_table(engine, rows)
    if args.compose:
        compose_sweep(rows)
    if args.relevance:
        relevance_sweep(engine, rows)


if __name__ == "__main__":
    main()
