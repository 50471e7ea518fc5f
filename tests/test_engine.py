"""Engine answers in extractive mode: cited titles are retrieved papers, refusals, bad questions."""

from __future__ import annotations

import pytest

from rag import REFUSAL, Answer, BadQuestion

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"


def test_extractive_answer_cites_retrieved_titles(engine):
    answer = engine.ask("How does Tower+ balance translation quality with general chat ability?")
    assert not answer.refused
    assert TOWER in [c.title for c in answer.citations]
    retrieved = {h.paper_id for h in answer.sources}
    assert all(c.paper_id in retrieved for c in answer.citations)
    assert all(f"[{c.number}]" in answer.text for c in answer.citations)
    assert "Sources:" in answer.render() and TOWER in answer.render()


def test_stream_yields_text_then_answer(engine):
    items = list(engine.stream("What is CodeT5?"))
    assert isinstance(items[-1], Answer)
    assert "".join(i for i in items[:-1] if isinstance(i, str)) == items[-1].text


def test_off_topic_question_is_refused(engine):
    answer = engine.ask("What is a good recipe for banana bread with walnuts?")
    assert answer.refused and answer.text.startswith(REFUSAL) and not answer.citations
    assert answer.sources, "retrieved sources are kept even when refusing"


@pytest.mark.parametrize("question", ["", "   \n\t", "\x00\x01"])
def test_empty_questions_are_rejected(engine, question):
    with pytest.raises(BadQuestion, match="empty"):
        engine.ask(question)


def test_huge_question_is_rejected_with_the_limit(engine):
    with pytest.raises(BadQuestion, match="too long"):
        engine.ask("pretraining " * 10_000)


def test_chat_follow_up_is_condensed(engine):
    session = engine.chat()
    first = session.ask("How does Tower+ balance translation quality with general chat ability?")
    assert TOWER in [c.title for c in first.citations]
    follow = session.ask("which languages does it cover?")
    assert TOWER in [h.title for h in follow.sources]
    other = engine.chat().ask("which languages does it cover?")
    assert other.standalone_question == "which languages does it cover?", "sessions share no history"


def test_a_paper_is_found_by_its_exact_title_even_when_search_would_not_rank_it(engine):
    title = "Exploring the Limits of Weakly Supervised Pretraining"
    paper = engine.paper(title)
    assert paper is not None and paper.title == title and "hashtags" in paper.abstract
    assert engine.paper("Exploring the limits") is None, "exact titles only"
    assert engine.paper('" OR 1=1 --') is None
