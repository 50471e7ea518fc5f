"""Markdown and BibTeX exports: what `rag ask --format` prints and the UI's export buttons download."""

from __future__ import annotations

from rag.answer import export

TOWER = {"n": 1, "title": "Tower+: Bridging Generality & Translation", "paper_id": "t1",
         "url": "https://arxiv.org/abs/2506.17080", "date": "2025-06-20", "authors": 7}
CODET5 = {"n": 2, "title": "CodeT5+: Open Code LLMs", "paper_id": "c5", "url": "https://arxiv.org/search/?q=x"}


def test_bibtex_has_one_entry_per_distinct_paper_with_escaped_fields():
    out = export.bibtex([TOWER, CODET5, dict(TOWER, n=3)])
    assert out.count("@misc{") == 2
    assert "@misc{tower2025," in out and "@misc{codet5," in out
    assert "title = {{Tower+: Bridging Generality \\& Translation}}" in out
    assert "year = {2025}" in out and "url = {https://arxiv.org/abs/2506.17080}" in out
    assert "note = {7 authors; cited by paperchat, paper id t1}" in out
    assert "author =" not in out, "the corpus has no author names: none are invented"


def test_bibtex_keys_stay_unique():
    other = dict(TOWER, paper_id="t2", title="Tower: a second paper")
    out = export.bibtex([TOWER, other])
    assert "@misc{tower2025," in out and "@misc{tower2025a," in out


def test_answer_markdown_lists_linked_references_in_marker_order():
    md = export.answer_markdown("What is Tower+?", "It balances both [1]. Code too [2].", [CODET5, TOWER],
                                notice="Your question looks Spanish")
    assert md.startswith("## What is Tower+?\n\n> Your question looks Spanish\n\nIt balances both [1].")
    assert md.index("1. [Tower+: Bridging Generality & Translation](https://arxiv.org/abs/2506.17080) (2025)") < \
        md.index("2. [CodeT5+: Open Code LLMs](https://arxiv.org/search/?q=x)")


def test_conversation_markdown_has_every_turn():
    md = export.conversation_markdown([
        {"question": "Q1", "answer": "A1 [1].", "citations": [TOWER]},
        {"question": "Q2", "answer": "The indexed abstracts do not answer this question.", "citations": []},
    ])
    assert md.startswith("# paperchat conversation")
    assert "## Q1" in md and "## Q2" in md and md.count("**References**") == 1


def test_reference_line():
    assert export.reference_line(TOWER) == ("[1] Tower+: Bridging Generality & Translation (2025). "
                                            "https://arxiv.org/abs/2506.17080")
