"""Cutting a streamed reply into sentences before each is checked (rag.answer.verify)."""

from __future__ import annotations

from rag.answer.verify import split_stream


def test_split_stream_keeps_markers_with_their_sentence_across_deltas():
    pieces = ["First one is here.", " [", "1]", " Second one [2]. ", "Third\n", "fourth"]
    assert list(split_stream(pieces)) == ["First one is here. [1]", "Second one [2].", "Third", "fourth"]
