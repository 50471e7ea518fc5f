"""Regression gate: the fixed dev subset in extractive mode must not score below eval/baseline.json.

The subset (eval/datasets/gate_ids.txt) and the baseline are recorded by
``python -m rag.evaluation.baseline``; extractive mode over the bundled corpus is deterministic, so
any drop is a real change in retrieval or the refusal gate. Re-record only for an intended change.
"""

from __future__ import annotations

import json

import pytest

from rag.evaluation.baseline import BASELINE, GATED, gate_items, run_gate


@pytest.fixture(scope="module")
def gate_metrics(engine):
    return run_gate(engine)


def test_gate_subset_covers_every_kind():
    items = gate_items()
    assert len(items) >= 25
    assert {i.kind for i in items} >= {"fact", "paraphrase", "multi", "title", "unanswerable"}


@pytest.mark.parametrize(("section", "key", "direction"), GATED, ids=[f"{s}.{k}" for s, k, _ in GATED])
def test_no_regression_against_baseline(gate_metrics, section, key, direction):
    baseline = json.loads(BASELINE.read_text())["gated"][f"{section}.{key}"]
    now = gate_metrics[section][key]
    if direction == "min":
        assert now >= baseline, f"{section}.{key} dropped to {now} from the recorded {baseline}"
    else:
        assert now <= baseline, f"{section}.{key} rose to {now} from the recorded {baseline}"
