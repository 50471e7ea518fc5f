"""Context budget: tiktoken counts from llama-index's bundled encoding; the question is never cut."""

from __future__ import annotations

import pytest

from rag.answer.budget import BudgetError, count_tokens, fit


def test_counts_tokens_offline_with_the_bundled_encoding():
    assert count_tokens("hello world") == 2


def test_lowest_ranked_sources_are_dropped_first():
    blocks = [f"[{i}] Paper {i}\n" + "word " * 100 for i in range(1, 6)]
    fitted = fit("Answer with citations.", "What is it?", blocks, [], budget=350)
    assert fitted.sources == blocks[:len(fitted.sources)] and 1 <= len(fitted.sources) < 5
    assert fitted.dropped == 5 - len(fitted.sources) and fitted.used <= 350


def test_history_keeps_recent_turns_within_a_quarter_and_never_crowds_out_the_top_source():
    blocks = ["[1] Paper\n" + "word " * 150]
    old, recent = "old question\n" + "answer " * 300, "recent question\nshort answer"
    fitted = fit("rules", "q?", blocks, [old, recent], budget=400)
    assert fitted.sources == blocks and fitted.history == [recent]


def test_top_source_is_truncated_rather_than_dropped_but_the_question_is_kept_whole():
    question = "What does the paper say about " + "details " * 30
    fitted = fit("rules", question, ["[1] Big Paper\n" + "evidence " * 500], [], budget=200)
    assert len(fitted.sources) == 1 and fitted.sources[0].endswith("…") and fitted.sources[0].startswith("[1] Big Paper")


def test_question_too_long_for_the_budget_raises_one_line():
    with pytest.raises(BudgetError, match="RAG_CONTEXT_TOKENS"):
        fit("rules", "word " * 400, ["[1] x"], [], budget=256)
