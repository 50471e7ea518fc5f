"""The regression gate's fixed subset and its recorded baseline.

``python -m rag.evaluation.baseline`` runs the subset listed in eval/datasets/gate_ids.txt in
extractive mode on the index named by RAG_INDEX_DIR (build it with ``rag ingest`` from the bundled
corpus) and writes eval/baseline.json. tests/evaluation/test_regression_gate.py runs the same subset
and fails when retrieval hit@5 or refusal accuracy falls below it (or false refusals rise above it).
Re-record deliberately after an intended change and say why in the commit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.evaluation.dataset import EvalItem, load_dataset
from rag.evaluation.run import evaluate
from rag.evaluation.runner import EvalConfig

DATASET = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
GATE_IDS = PROJECT_ROOT / "eval" / "datasets" / "gate_ids.txt"
BASELINE = PROJECT_ROOT / "eval" / "baseline.json"
GATE_CONFIG = EvalConfig(retriever="hybrid", llm="extractive", k=5)
#: What the gate compares: (section, key, direction); "min" = must not fall below the baseline.
GATED = (("retrieval", "hit@5", "min"), ("refusal", "accuracy", "min"), ("refusal", "false_refusal_rate", "max"))


def gate_items(dataset: Path = DATASET, ids_file: Path = GATE_IDS) -> list[EvalItem]:
    """The subset, in the order of gate_ids.txt (one id per line, # comments allowed)."""
    wanted = [line.split("#")[0].strip() for line in ids_file.read_text(encoding="utf-8").splitlines()]
    wanted = [w for w in wanted if w]
    by_id = {item.id: item for item in load_dataset(dataset)}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise SystemExit(f"{ids_file}: ids not in {dataset}: {', '.join(missing)}")
    return [by_id[w] for w in wanted]


def run_gate(engine) -> dict:
    metrics, _ = evaluate(engine, gate_items(), GATE_CONFIG, f"{DATASET.name} (gate subset)")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description="Record eval/baseline.json for the regression gate.")
    parser.add_argument("--out", type=Path, default=BASELINE)
    args = parser.parse_args()
    from rag import Engine

    metrics = run_gate(Engine.from_env())
    record = {"config": GATE_CONFIG.label, "ids_file": str(GATE_IDS.relative_to(PROJECT_ROOT)),
              "gated": {f"{s}.{k}": metrics[s][k] for s, k, _ in GATED}, "metrics": metrics}
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record["gated"]))


if __name__ == "__main__":
    main()
