"""The typed answer stream: text deltas when iterated, the structured Answer at the end."""

from __future__ import annotations

import pytest

from rag.types import Answer, AnswerStream


def test_iterating_gives_only_text_and_the_answer_comes_last():
    answer = Answer(question="q", text="Hello world.")
    stream = AnswerStream(iter(["Hello", " world.", answer]))
    assert list(stream) == ["Hello", " world."]
    assert stream.answer is answer


def test_reading_the_answer_first_drains_the_stream():
    answer = Answer(question="q", text="x")
    assert AnswerStream(iter(["a", "b", answer])).answer is answer


def test_a_stream_without_its_answer_says_so():
    with pytest.raises(RuntimeError, match="without its Answer"):
        _ = AnswerStream(iter(["a"])).answer


def test_engine_and_chat_streams_match_their_answer(engine):
    stream = engine.answer_stream("What is TorchTitan?", llm="extractive")
    assert "".join(stream) == stream.answer.text
    session = engine.chat(llm="extractive")
    turn = session.answer_stream("What is TorchTitan?")
    assert "".join(turn) == turn.answer.text
    assert session.history == [("What is TorchTitan?", turn.answer.text)]
