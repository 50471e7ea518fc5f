"""Tune the list/overview cut-off (compose.LIST_MARGIN, compose.TOPIC_WEIGHT) on the train split only.

Retrieval and sentence scoring run once per question (k x compose.DEPTH candidates); the sweep then
re-runs only the composition, so a grid costs seconds. Prints citation precision / recall per setting
for the list-like questions (multi, overview, compare) of the chosen split.

    python tools/compose_sweep.py --dataset out/bank_all.jsonl --split train
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rag import Engine
from rag.answer import compose as composer
from rag.answer.intent import detect
from rag.answerable import named_sources
from rag.evaluation.dataset import load_dataset
from rag.evaluation.metrics import citation_precision, citation_recall, mean
from rag.evaluation.split import split_of
from rag.text import normalize_title


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, action="append", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--kinds", default="multi,overview,compare")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    engine = Engine.from_env()
    kinds = set(args.kinds.split(","))
    items = [i for path in args.dataset for i in load_dataset(path)
             if i.kind in kinds and i.expected_titles and split_of(i.expected_titles, i.id) == args.split]
    cases = []
    for item in items:
        hits = engine.search(item.question, k=args.k * composer.DEPTH)
        scored = engine.score_sentences(item.question, hits)
        if engine.gate.decide(item.question, hits[:args.k], [s for s in scored if s.source <= args.k]).refuse:
            cases.append((item, None, None))
            continue
        cases.append((item, hits, scored))
    idf = engine.gate.idf()
    ceiling = [citation_recall([normalize_title(h.title) for h in hits], {normalize_title(t) for t in item.expected_titles})
               for item, hits, _ in cases if hits is not None]
    print(f"recall ceiling (expected papers among the {args.k * composer.DEPTH} candidates): {mean(ceiling):.3f}")
    print(f"{len(items)} {args.split} questions ({args.kinds}); refused by the gate: "
          f"{sum(1 for _, h, _ in cases if h is None)}")
    grid = [(m, w, p, f) for f in (0.0, 0.4, 0.6, 0.8) for p in (2.0,) for m in (0.2, 0.25, 0.3) for w in (0.3,)]
    for margin, weight, power, floor in grid:
        precision, recall, size = [], [], []
        for item, hits, scored in cases:
            expected = {normalize_title(t) for t in item.expected_titles}
            if hits is None:
                recall.append(0.0)
                continue
            comp = composer.compose_answer(item.question, hits, scored, detect(item.question),
                                           named=named_sources(item.question, hits), idf=idf, margin=margin,
                                           topic_weight=weight, topic_power=power, topic_floor=floor)
            cited = [normalize_title(hits[n - 1].title) for n in comp.papers]
            precision.append(citation_precision(cited, expected))
            recall.append(citation_recall(cited, expected))
            size.append(len(comp.papers))
        print(f"margin {margin:.2f} topic {weight:.2f} power {power:.0f} floor {floor:.1f}: "
              f"precision {mean(precision):.3f} recall {mean(recall):.3f} papers/answer {mean(size):.1f}")

if __name__ == "__main__":
    main()
