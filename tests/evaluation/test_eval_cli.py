"""`rag eval` end to end on a tiny dataset: every output file, the JSON shape, --compare, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()
HUBERT = "HuBERT: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units"
TINY = [
    {"id": "t1", "question": "What does HuBERT predict during self-supervised speech pretraining?",
     "expected_titles": [HUBERT], "kind": "fact", "answer_keywords": ["hidden units"]},
    {"id": "t2", "question": "OLMo 2 furious", "expected_titles": ["2 OLMo 2 Furious"], "kind": "title"},
    {"id": "t3", "question": "What is the boiling point of liquid nitrogen in kelvin?", "expected_titles": [],
     "kind": "unanswerable"},
]


@pytest.fixture(scope="module")
def cli_env(corpus_index):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_INDEX_DIR", str(corpus_index))
        mp.setenv("RAG_LLM", "extractive")
        mp.delenv("RAG_JUDGE_BASE_URL", raising=False)
        yield corpus_index


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in TINY) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single_run(cli_env, tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-out")
    result = runner.invoke(app, ["eval", "--dataset", str(tiny), "--out", str(out), "--json"])
    return result, out


def test_writes_every_output_file(single_run):
    result, out = single_run
    assert result.exit_code == 0, result.output
    for name in ("metrics.json", "results.jsonl", "report.md", "by_kind.png", "latency.png"):
        assert (out / name).is_file(), name
    for png in ("by_kind.png", "latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_json_shape_and_stdout_agree(single_run):
    result, out = single_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads(result.stdout) == metrics
    assert metrics["dataset"] == "tiny.jsonl" and metrics["mode"] == "extractive"
    assert (metrics["n"], metrics["n_answerable"], metrics["n_unanswerable"]) == (3, 2, 1)
    assert set(metrics["retrieval"]) == {"hit@1", "hit@5", "recall@5", "mrr", "ndcg@10"}
    assert metrics["retrieval"]["hit@5"] == 1.0  # both papers are named in their questions
    assert set(metrics["by_kind"]) == {"fact", "title", "unanswerable"}
    assert metrics["latency_ms"]["p50"] > 0


def test_results_jsonl_has_one_line_per_question(single_run):
    _, out = single_run
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t1", "t2", "t3"]
    first = rows[0]
    assert len(first["ranking"]) == 10 and {"title", "score"} == set(first["ranking"][0])
    assert first["sources"] == [r["title"] for r in first["ranking"][:5]]  # answer sources = top k of the ranking
    assert HUBERT in first["sources"] and not first["refused"] and first["latency_ms"] > 0
    assert first["cited"] and set(first["cited"]) <= set(first["sources"])


def test_report_names_the_run_and_says_the_judge_was_skipped(single_run):
    _, out = single_run
    report = (out / "report.md").read_text()
    assert "| hit@5 | 1.000 |" in report
    assert "Faithfulness: skipped" in report
    assert "![latency](latency.png)" in report


def test_compare_writes_one_side_by_side_report(cli_env, tiny, tmp_path):
    result = runner.invoke(app, ["eval", "--dataset", str(tiny), "--out", str(tmp_path), "--limit", "2",
                                 "--compare", "retriever=bm25", "--compare", "retriever=dense,k=3"])
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "compare.json").read_text())
    assert list(runs) == ["retriever=bm25,k=5", "retriever=dense,k=3"]
    assert all(m["n"] == 2 for m in runs.values())
    table = (tmp_path / "compare.md").read_text()
    assert "| hit@5 |" in table and "`retriever=dense,k=3`" in table
    assert (tmp_path / "retriever-bm25_k-5" / "metrics.json").is_file()


@pytest.mark.parametrize(("lines", "expected"), [
    (['{"question": "fine?", "expected_titles": []}', '{"question": '], "line 2: not valid JSON"),
    (['{"id": "x", "expected_titles": []}'], "line 1: missing 'question'"),
    (['{"question": "q?", "expected_titles": ["No Such Paper Anywhere"]}'],
     "line 1: expected title 'No Such Paper Anywhere' is not in the index"),
])
def test_dataset_errors_are_one_line_before_the_run(cli_env, tmp_path, lines, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "--dataset", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing ran


def test_bad_compare_value_is_one_line(cli_env, tiny, tmp_path):
    result = runner.invoke(app, ["eval", "--dataset", str(tiny), "--out", str(tmp_path), "--compare", "retriever=tfidf"])
    assert result.exit_code == 1
    assert "retriever must be one of dense, bm25, hybrid" in result.output
