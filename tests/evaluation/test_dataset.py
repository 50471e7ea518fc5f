"""Dataset loading: every problem is one line naming the file and the line number."""

from __future__ import annotations

import json

import pytest

from rag.evaluation.dataset import DatasetError, check_titles, load_dataset

GOOD = {"id": "q1", "question": "What is HuBERT?", "expected_titles": ["HuBERT: Self-Supervised Speech"], "kind": "title"}


def write(tmp_path, *lines: str):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_file_with_blank_lines_and_unknown_keys(tmp_path):
    path = write(tmp_path, json.dumps(GOOD), "", json.dumps({"question": "Who invented dropout?", "note": "x"}))
    items = load_dataset(path)
    assert [i.id for i in items] == ["q1", "line-3"]
    assert items[0].answerable and not items[1].answerable
    assert items[1].kind == "unanswerable"  # an empty expected list means the right answer is a refusal
    assert items[1].line == 3
    assert load_dataset(path, limit=1) == items[:1]


@pytest.mark.parametrize(("bad", "message"), [
    ('{"id": "q2", "question": ', "line 2: not valid JSON"),
    ('{"id": "q2", "expected_titles": []}', "line 2: missing 'question'"),
    ('{"id": "q2", "question": "   "}', "line 2: missing 'question'"),
    ('["a list"]', "line 2: expected a JSON object"),
    ('{"id": "q2", "question": "Q?", "expected_titles": "one title"}', "line 2: 'expected_titles' must be a list"),
    ('{"id": "q1", "question": "Q?"}', "line 2: duplicate id 'q1' (first on line 1)"),
])
def test_malformed_line_is_reported_with_its_number(tmp_path, bad, message):
    path = write(tmp_path, json.dumps(GOOD), bad)
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    text = str(err.value)
    assert message in text and str(path) in text
    assert "\n" not in text


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="has no questions"):
        load_dataset(write(tmp_path, ""))


def test_expected_titles_match_after_normalization_and_unknown_ones_are_errors(tmp_path):
    known = {"tulu 3 pushing frontiers in open language model post training": "TÜLU 3: Pushing Frontiers..."}
    ok = {"id": "a", "question": "q", "expected_titles": ['T\\"ULU 3:  Pushing frontiers in open Language-Model Post-Training']}
    bad = {"id": "b", "question": "q", "expected_titles": ["A Paper We Do Not Have", "Another One"]}
    path = write(tmp_path, json.dumps(ok), json.dumps(bad))
    items = load_dataset(path)
    check_titles(items[:1], known, str(path))  # LaTeX escape, case, punctuation and spaces fold away
    with pytest.raises(DatasetError, match=r"line 2: expected title 'A Paper We Do Not Have' is not in the index "
                                           r"\(and 1 more\)"):
        check_titles(items, known, str(path))


@pytest.mark.parametrize("name", ["bank.jsonl", "dev.jsonl", "heldout.jsonl", "fresh.jsonl", "fresh2.jsonl",
                                  "fresh3.jsonl"])
def test_every_shipped_question_set_loads_and_names_only_indexed_papers(engine, name):
    """`rag eval --dataset eval/datasets/<name>` must run on the bundled index: a title a writer mistyped
    would stop the whole run, and an unanswerable row with papers would score refusals wrong."""
    from pathlib import Path

    from rag.evaluation.dataset import indexed_titles

    path = Path(__file__).resolve().parents[2] / "eval" / "datasets" / name
    items = load_dataset(path)
    check_titles(items, indexed_titles(engine), str(path))
    assert len(items) >= 70
    assert all(not i.expected_titles for i in items if i.kind == "unanswerable")
