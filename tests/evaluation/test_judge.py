"""LLM-as-judge faithfulness against a stub OpenAI-compatible endpoint (the real openai SDK client).

The stub says "yes" when the sentence's words all occur in the abstract it is shown, which is enough
to check that each cited sentence is paired with its own cited abstract and that failures degrade
to a note instead of stopping the run.
"""

from __future__ import annotations

import re

import pytest

from rag.config import Settings
from rag.evaluation.judge import Judge
from rag.types import Answer, Hit
from tests.servers import Request, StubLLM


def _verdict(request: Request) -> str:
    prompt = request.messages[0]["content"]
    abstract, sentence = re.search(r"Abstract:\n(.*)\n\nSentence:\n(.*)\n\nIs every", prompt, re.S).groups()
    words = set(re.findall(r"\w+", abstract.lower()))
    return "yes" if set(re.findall(r"\w+", sentence.lower())) <= words else "no"


@pytest.fixture(scope="module")
def judge_url():
    with StubLLM(_verdict) as stub:
        yield stub.url


def _answer() -> Answer:
    hits = [Hit(paper_id="a", title="Cats", score=1, snippet="", abstract="Cats sleep sixteen hours a day."),
            Hit(paper_id="b", title="Dogs", score=1, snippet="", abstract="Dogs bark at strangers.")]
    return Answer(question="q", text="Cats sleep sixteen hours a day [1]. Dogs sleep all day [2].", sources=hits)


def test_each_cited_sentence_is_judged_against_its_own_abstract(judge_url):
    judge = Judge(Settings(_env_file=None, judge_base_url=judge_url, judge_model="stub", llm_retries=0))
    assert judge.faithfulness(_answer()) == 0.5  # sentence 1 is supported by [1]; sentence 2 is not by [2]
    assert judge.calls == 2 and not judge.error


def test_unreachable_judge_is_a_note_not_a_crash():
    judge = Judge(Settings(_env_file=None, judge_base_url="http://127.0.0.1:9/v1", llm_retries=0, llm_timeout=2))
    assert judge.faithfulness(_answer()) is None
    assert "Connection" in judge.error
    assert judge.faithfulness(_answer()) is None and judge.calls == 1  # stops after the first failure
