"""The regression gate: the TEST split of the question bank, and its recorded baseline.

``python -m rag.evaluation.baseline`` runs the test split of eval/datasets/bank.jsonl (see
rag/evaluation/split.py) in extractive mode on the index named by RAG_INDEX_DIR (build it with
``rag ingest`` from the bundled corpus) and writes eval/baseline.json. tests/evaluation/
test_regression_gate.py runs the same questions and fails when a gated metric falls below it (or
false refusals rise above it). The gate runs on the test split, never on a subset anything was tuned
on. Re-record deliberately after an intended change and say why in the commit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.evaluation.dataset import EvalItem, load_dataset
from rag.evaluation.runner import EvalConfig, evaluate

DATASET = PROJECT_ROOT / "eval" / "datasets" / "bank.jsonl"
SPLIT = "test"
BASELINE = PROJECT_ROOT / "eval" / "baseline.json"
GATE_CONFIG = EvalConfig(retriever="hybrid", llm="extractive", k=5)
#: What the gate compares: (section, key, direction); "min" = must not fall below the baseline.
GATED = (("retrieval", "hit@5", "min"), ("retrieval", "mrr", "min"), ("citations", "precision", "min"),
         ("refusal", "accuracy", "min"), ("refusal", "false_refusal_rate", "max"))


def gate_items(dataset: Path = DATASET) -> list[EvalItem]:
    return load_dataset(dataset, split=SPLIT)


def run_gate(engine) -> dict:
    metrics, _ = evaluate(engine, gate_items(), GATE_CONFIG, f"{DATASET.name} ({SPLIT} split)")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description="Record eval/baseline.json for the regression gate.")
    parser.add_argument("--out", type=Path, default=BASELINE)
    args = parser.parse_args()
    from rag import Engine

    metrics = run_gate(Engine.from_env())
    record = {"config": GATE_CONFIG.label, "dataset": str(DATASET.relative_to(PROJECT_ROOT)), "split": SPLIT,
              "gated": {f"{s}.{k}": metrics[s][k] for s, k, _ in GATED}, "metrics": metrics}
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record["gated"]))


if __name__ == "__main__":
    main()
