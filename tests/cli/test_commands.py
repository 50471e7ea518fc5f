"""The CLI's JSON shapes and one-line errors (typer's runner, real engine on the session index)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(corpus_index, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(corpus_index))
    monkeypatch.setenv("RAG_LLM", "extractive")
    return corpus_index


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_ingest_json_counts_and_idempotence(cli_env):
    result = run("ingest", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"added": 0, "updated": 0, "unchanged": 410, "removed": 0, "papers": 410}


def test_search_json_shape(cli_env):
    result = run("search", "open vocabulary detection", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3
    assert set(hits[0]) == {"title", "paper_id", "score", "snippet"}


def test_search_year_filters(cli_env):
    hits = json.loads(run("search", "pretraining", "--year-from", "2025", "--year-to", "2025", "--json").output)
    assert hits and len(hits) <= 10


def test_ask_json_shape(cli_env):
    result = run("ask", "What mask AP does detection-oriented image-text pretraining reach on LVIS?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"question", "answer", "citations", "sources", "refused", "mode", "timings_ms"}
    assert set(data["timings_ms"]) >= {"retrieve", "generate"}
    assert data["mode"] == "extractive" and not data["refused"]
    assert data["citations"] and set(data["citations"][0]) >= {"n", "title", "paper_id", "url"}
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    assert "Detection-Oriented Image-Text Pretraining for Open-Vocabulary Detection" in [c["title"] for c in data["citations"]]


def test_stats_json_shape(cli_env):
    data = json.loads(run("stats", "--json").output)
    assert set(data) == {"papers", "chunks", "sources", "index_dir", "embed_model"}
    assert data["papers"] == 410 and len(data["sources"]) == 5


def test_errors_are_one_line(cli_env, tmp_path):
    result = run("ask", "   ")
    assert result.exit_code == 1
    assert "question is empty" in result.output and "Traceback" not in result.output
    missing = run("ingest", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_chat_answers_and_quits(cli_env):
    result = runner.invoke(app, ["chat"], input="What is Tower+?\nwhich languages does it cover?\n/quit\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Tower+: Bridging Generality") >= 2


def test_other_embedder_and_bad_ingest_engine_are_one_line(cli_env, monkeypatch):
    monkeypatch.setenv("RAG_EMBED_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RAG_EMBED_REMOTE_MODEL", "text-embedding-3-small")
    mixed = run("search", "open vocabulary detection")
    assert mixed.exit_code == 1 and "holds vectors of 'all-minilm-l6-v2'" in mixed.output
    assert len(mixed.output.strip().splitlines()) == 1
    bogus = run("ingest", "--engine", "spark")
    assert bogus.exit_code == 1 and "unknown ingest engine 'spark'" in bogus.output and "Traceback" not in bogus.output


def test_chat_follow_ups_show_the_search_and_never_repeat(cli_env):
    result = runner.invoke(app, ["chat"], input="What is TorchTitan?\nWhat does it report?\nand which dataset?\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "(searched for: What does TorchTitan report?" in result.output
    assert "(searched for: and which dataset in TorchTitan?" in result.output
    answers = [line.split("bot> ", 1)[1] for line in result.output.splitlines() if "bot> " in line]
    assert len(answers) == 3 and len(set(answers)) == 3, answers
    assert answers[2].startswith("The TorchTitan abstract does not mention a dataset.")


def test_eval_dialogues_reports_follow_up_accuracy_per_kind(cli_env, tmp_path):
    swedish = ("SweCTRL-Mini: a data-transparent Transformer-based large language model for controllable text "
               "generation in Swedish")
    nepali = "Domain-adaptative Continual Learning for Low-resource Tasks: Evaluation on Nepali"
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "de-016", "kind": "ellipsis", "turns": [
        {"question": "Which paper presents a language model for Swedish?", "expected_titles": [swedish]},
        {"question": "and for Nepali?", "expected_titles": [nepali]}]}) + "\n")
    result = run("eval", "--dialogues", str(path), "--split", "train", "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    train = report["splits"]["train"]
    assert train["kinds"]["ellipsis"]["turn2"] == {"n": 1, "correct": 1, "accuracy": 1.0}
    assert train["repeated"] == 0 and (tmp_path / "out" / "results.jsonl").is_file()
    assert run("eval", "--dialogues", str(path), "--split", "dev").exit_code == 1


LVIS_Q = "What mask AP does detection-oriented image-text pretraining reach on LVIS?"


def test_ask_format_bibtex_prints_one_entry_per_cited_paper(cli_env):
    cited = json.loads(run("ask", LVIS_Q, "--format", "json").output)["citations"]
    result = run("ask", LVIS_Q, "--format", "bibtex")
    assert result.exit_code == 0, result.output
    assert result.output.count("@misc{") == len(cited) >= 1
    for c in cited:
        assert "title = {{" + c["title"].replace("&", "\\&") + "}}" in result.output
        assert f"url = {{{c['url']}}}" in result.output
    assert "Sources:" not in result.output, "bibtex output is only BibTeX"


def test_ask_format_markdown_has_numbered_linked_references(cli_env):
    result = run("ask", LVIS_Q, "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## " + LVIS_Q)
    assert "**References**" in result.output
    assert "1. [Detection-Oriented Image-Text Pretraining for Open-Vocabulary Detection](https://" in result.output


def test_ask_format_rejects_unknown_names(cli_env):
    result = run("ask", LVIS_Q, "--format", "pdf")
    assert result.exit_code == 1 and "unknown --format" in result.output


def test_feedback_json_lists_votes_from_the_index_folder(cli_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path))
    assert json.loads(run("feedback", "--json").output) == []
    from rag import feedback

    feedback.record(tmp_path, "What is Tower+?", "A model suite. [1]", [{"n": 1, "title": "Tower+", "paper_id": "t",
                                                                          "url": "https://x"}], liked=False)
    entries = json.loads(run("feedback", "--json").output)
    assert [(e["rating"], e["question"], e["citations"][0]["title"]) for e in entries] == [
        ("down", "What is Tower+?", "Tower+")]
    assert "0 up, 1 down" in run("feedback").output


def test_help_lists_the_commands_in_the_order_of_the_command_table():
    from rag.cli import COMMANDS

    assert [c.name for c in app.registered_commands] == [name for name, _ in COMMANDS]
    assert [name for name, _ in COMMANDS][:3] == ["ingest", "search", "ask"]


def test_an_answer_stream_that_ends_without_an_answer_is_a_one_line_error(monkeypatch):
    class Silent:
        def stream(self, *args, **kwargs):
            yield "partial text"

    monkeypatch.setattr("rag.cli.query.open_engine", Silent)
    result = run("ask", "anything", "--no-stream")
    assert result.exit_code == 1 and "ended without an answer" in result.output and "Traceback" not in result.output
