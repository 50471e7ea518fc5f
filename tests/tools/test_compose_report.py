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
