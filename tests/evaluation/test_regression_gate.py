"""Regression gate: the bank's test split in extractive mode must not score below eval/baseline.json.

The baseline is recorded by ``python -m rag.evaluation.baseline``; extractive mode over the bundled
corpus is deterministic, so any drop is a real change in retrieval, the refusal gate or composition.
The test split is never fitted on (rag/evaluation/split.py). Re-record only for an intended change.
"""

from __future__ import annotations

import json

import pytest

from rag.evaluation.baseline import BASELINE, GATED, gate_items, run_gate


@pytest.fixture(scope="module")
def gate_metrics(engine):
    return run_gate(engine)


def test_gate_runs_the_test_split_and_covers_every_kind():
    items = gate_items()
    assert len(items) >= 100
    assert {i.kind for i in items} >= {"fact", "paraphrase", "multi", "title", "compare", "yesno", "unanswerable"}
    assert not {i.id for i in items} & set(_train_ids()), "the gate must not run on questions anything was fitted on"


def _train_ids() -> list[str]:
    from rag.evaluation.baseline import DATASET
    from rag.evaluation.dataset import load_dataset

    return [i.id for i in load_dataset(DATASET, split="train")]


@pytest.mark.parametrize(("section", "key", "direction"), GATED, ids=[f"{s}.{k}" for s, k, _ in GATED])
def test_no_regression_against_baseline(gate_metrics, section, key, direction):
    baseline = json.loads(BASELINE.read_text())["gated"][f"{section}.{key}"]
    now = gate_metrics[section][key]
    if direction == "min":
        assert now >= baseline, f"{section}.{key} dropped to {now} from the recorded {baseline}"
    else:
        assert now <= baseline, f"{section}.{key} rose to {now} from the recorded {baseline}"
