"""Token usage counted with tiktoken (llama-index's bundled cl100k_base file, no download)."""

from __future__ import annotations

from rag.usage import count_tokens, usage


def test_counts_are_tiktoken_counts():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert usage(["What is Tower+?"], "A model suite [1].") == {
        "prompt_tokens": count_tokens("What is Tower+?"), "completion_tokens": count_tokens("A model suite [1]."),
        "total_tokens": count_tokens("What is Tower+?") + count_tokens("A model suite [1].")}
