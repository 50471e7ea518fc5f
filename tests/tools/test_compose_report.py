"""tools/compose_report.py: the verbatim check follows citation numbers, not the order papers were retrieved."""

from __future__ import annotations

from tools.compose_report import not_verbatim

ABSTRACTS = {"alpha paper": "Alpha trains fast. Alpha is small.", "beta paper": "Beta is large. Beta is slow."}


def test_a_marker_names_the_nth_cited_paper():
    answer = "- Beta is large. [1]\n- Alpha trains fast. [2]"
    # retrieved order alpha, beta; cited order beta, alpha: [1] is beta
    assert not_verbatim(answer, ["Beta paper", "Alpha paper"], ABSTRACTS) == (2, 0)


def test_a_sentence_not_in_the_cited_abstract_is_counted():
    assert not_verbatim("Alpha is large. [1]", ["Alpha paper"], ABSTRACTS) == (1, 1)
    assert not_verbatim("Alpha trains fast. [2]", ["Alpha paper"], ABSTRACTS) == (1, 1)  # no such citation


def test_a_corpus_option_before_the_runs_does_not_swallow_them(tmp_path, monkeypatch, capsys):
    import json

    from tools import compose_report

    corpus = tmp_path / "papers.jsonl"
    corpus.write_text(json.dumps({"title": "Alpha paper", "abstract": "Alpha trains fast. Alpha is small."}) + "\n")
    run = tmp_path / "run"
    run.mkdir()
    row = {"id": "q1", "kind": "fact", "expected_titles": ["Alpha paper"], "cited": ["Alpha paper"],
           "refused": False, "answer": "Alpha trains fast. [1]", "answer_keywords": [], "latency_ms": 5.0}
    (run / "results.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setattr("sys.argv", ["compose_report.py", "--corpus", str(corpus), f"new={run}"])
    compose_report.main()
    out = capsys.readouterr().out
    assert "| new | 1 | 1.000 | 1.000 |" in out and "0/1 |" in out  # read from --corpus: verbatim, 0 of 1
