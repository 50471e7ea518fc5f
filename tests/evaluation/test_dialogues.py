"""The dialogue evaluation: file validation, the split, what counts as a repeated answer, the summary."""

from __future__ import annotations

import json

import pytest

from rag.errors import RagError
from rag.evaluation.dialogues import TurnResult, load_dialogues, repeats_previous, summarize
from tests.conftest import ROOT

DIALOGUES = ROOT / "eval" / "datasets" / "dialogues.jsonl"


def test_bundled_dialogues_load_with_kinds_and_a_frozen_split():
    dialogues = load_dialogues(DIALOGUES)
    assert len(dialogues) == 430 and len({d.id for d in dialogues}) == 430
    assert {d.kind for d in dialogues} == {"pronoun", "ellipsis", "switch", "three_turn"}
    assert all(len(d.turns) == 3 for d in dialogues if d.kind == "three_turn")
    splits = [d.split for d in dialogues]
    assert splits.count("test") == 135 and splits.count("train") == 295


def test_bad_dialogue_file_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "x", "kind": "pronoun", "turns": [{"question": "q?"}]}) + "\n{oops\n")
    with pytest.raises(RagError, match="at least two turns"):
        load_dialogues(path)
    path.write_text("{oops\n")
    with pytest.raises(RagError, match=r"d\.jsonl:1: not a dialogue"):
        load_dialogues(path)


def test_a_repeat_is_any_quoted_sentence_again():
    first = "TorchTitan enables 3D parallelism in a modular manner with elastic scaling. [1]"
    assert repeats_previous(first, first)
    assert repeats_previous("It also scales to thousands of GPUs well. [1] " + first, first)
    assert not repeats_previous("The TorchTitan abstract does not mention a dataset [1].", first)


def _row(kind: str, turn: int, correct: bool, repeated: bool = False) -> TurnResult:
    return TurnResult("d", kind, "test", turn, "q", "q", ["T"], ["T"] if correct else [], correct, repeated, False,
                      False, "a")


def test_summary_counts_follow_ups_per_kind_and_turn():
    rows = [_row("pronoun", 1, True), _row("pronoun", 2, False), _row("three_turn", 1, True),
            _row("three_turn", 2, True), _row("three_turn", 3, True, repeated=True)]
    summary = summarize(rows)
    assert summary["kinds"]["pronoun"]["turn2"] == {"n": 1, "correct": 0, "accuracy": 0.0}
    assert summary["kinds"]["three_turn"]["turn3"]["accuracy"] == 1.0
    assert summary["follow_ups"] == 3 and summary["follow_up_correct"] == 2 and summary["repeated"] == 1
