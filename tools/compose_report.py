"""Split-aware summary of ``rag eval`` runs: test split first, then train, with per-kind tables.

Usage (after ``rag eval --dataset BANK --llm MODE --out DIR`` for each mode to compare)::

    python tools/compose_report.py new=DIR1 old=DIR2 local=DIR3     # abstracts from data/corpus
    python tools/compose_report.py --corpus PATH [--corpus PATH2] new=DIR1 ...   # another corpus

For each run and split it prints citation precision / recall, keyword recall, multi-paper citation
recall (answerable questions with two or more expected papers), refusal accuracy, false refusals,
latency p50, and the share of cited sentences that are not verbatim in the abstract they cite
(extractive answers must have none). The split is rag.evaluation.split (tune on train, report test).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from rag.evaluation.metrics import citation_precision, citation_recall, keyword_recall, mean, percentile
from rag.evaluation.split import split_of
from rag.ingest.parse import load_corpus
from rag.text import normalize_title

ROOT = Path(__file__).resolve().parent.parent
_CITED = re.compile(r"(.+?)\s*((?:\[\d+\])+)(?:\s+|$)")


def not_verbatim(answer: str, cited: list[str], abstracts: dict[str, str]) -> tuple[int, int]:
    """(cited sentences, of which not found verbatim in the abstract of the paper they cite). A marker [n]
    is the n-th citation (``cited``, in number order), not the n-th retrieved source."""
    total = bad = 0
    for line in answer.splitlines():
        line = re.sub(r"^\s*-\s+", "", line)
        for sentence, markers in _CITED.findall(line):
            for n in (int(m) for m in re.findall(r"\d+", markers)):
                total += 1
                title = cited[n - 1] if 0 < n <= len(cited) else ""
                if sentence.strip() not in abstracts.get(normalize_title(title), ""):
                    bad += 1
    return total, bad


def summarize(rows: list[dict], abstracts: dict[str, str]) -> dict:
    answerable = [r for r in rows if r["expected_titles"]]
    unanswerable = [r for r in rows if not r["expected_titles"]]
    answered = [r for r in answerable if not r["refused"]]

    def keys(titles):
        return [normalize_title(t) for t in titles]

    precision = mean(citation_precision(keys(r["cited"]), set(keys(r["expected_titles"]))) for r in answerable)
    recall = mean(citation_recall(keys(r["cited"]), set(keys(r["expected_titles"]))) for r in answerable)
    multi = [r for r in answerable if len(r["expected_titles"]) >= 2]
    multi_recall = mean(citation_recall(keys(r["cited"]), set(keys(r["expected_titles"]))) for r in multi)
    kw = mean(keyword_recall(r["answer"], r["answer_keywords"]) for r in rows if r["answer_keywords"])
    verbatim = [not_verbatim(r["answer"], r["cited"], abstracts) for r in answered]
    total, bad = sum(t for t, _ in verbatim), sum(b for _, b in verbatim)
    return {
        "n": len(rows), "precision": precision, "recall": recall, "multi_recall": multi_recall, "n_multi": len(multi),
        "keyword_recall": kw,
        "refusal": mean(float(r["refused"]) for r in unanswerable),
        "false_refusal": mean(float(r["refused"]) for r in answerable),
        "p50_ms": percentile([r["latency_ms"] for r in rows], 50),
        "not_verbatim": f"{bad}/{total}",
    }


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return str(value)


COLUMNS = ("n", "precision", "recall", "multi_recall", "keyword_recall", "refusal", "false_refusal", "p50_ms",
           "not_verbatim")


def table(title: str, runs: dict[str, dict]) -> str:
    lines = [f"### {title}", "", "| run | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, stats in runs.items():
        lines.append(f"| {name} | " + " | ".join(fmt(stats[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # append, not nargs="+": a list option would swallow the name=DIR runs that follow it
    parser.add_argument("--corpus", type=Path, action="append",
                        help="a file or folder of the indexed corpus, for the verbatim check (repeatable; "
                             "default data/corpus)")
    parser.add_argument("--kinds", action="store_true", help="also print per-kind tables")
    parser.add_argument("runs", nargs="+", help="name=DIR of a rag eval run (its results.jsonl)")
    args = parser.parse_args()
    papers, _ = load_corpus(args.corpus or [ROOT / "data" / "corpus"])
    abstracts = {normalize_title(p.title): p.abstract for p in papers}
    loaded = {}
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        loaded[name] = [json.loads(x) for x in (Path(folder) / "results.jsonl").read_text().splitlines() if x.strip()]
    for split in ("test", "train", "all"):
        per_run = {}
        per_kind: dict[str, dict[str, dict]] = defaultdict(dict)
        for name, rows in loaded.items():
            chosen = [r for r in rows if split == "all" or split_of(r["expected_titles"], r["id"]) == split]
            per_run[name] = summarize(chosen, abstracts)
            by_kind = defaultdict(list)
            for r in chosen:
                by_kind[r["kind"]].append(r)
            for kind, group in sorted(by_kind.items()):
                per_kind[kind][name] = summarize(group, abstracts)
        print(table(f"{split} split", per_run) + "\n")
        if args.kinds:
            for kind, runs in per_kind.items():
                print(table(f"{split} · {kind}", runs) + "\n")


if __name__ == "__main__":
    main()
