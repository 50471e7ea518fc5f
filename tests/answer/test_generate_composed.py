"""A capable OpenAI-compatible model writing from the composed evidence, against a stub server.

The stub speaks the real protocol (``/v1/models``, streamed ``/v1/chat/completions`` over SSE), so the
whole path is exercised: OpenAIBackend, the composed prompt, the claim-level check, the truncation guard,
and list completion. Only the model's reply is scripted.
"""

from __future__ import annotations

import re

import pytest

from rag import Engine
from tests.conftest import make_settings
from tests.llm.conftest import share_components
from tests.servers import StubLLM

FILTER_Q = "Which papers propose data filtering for LLM pre-training?"


@pytest.fixture(scope="module")
def stub():
    with StubLLM() as server:
        yield server


@pytest.fixture(scope="module")
def gpt(engine, corpus_index, stub) -> Engine:
    settings = make_settings(corpus_index, llm="openai", openai_base_url=stub.url, llm_model="gpt-stub",
                             llm_retries=0, llm_timeout=20)
    return share_components(engine, settings)


def sources_of(engine: Engine, question: str) -> list:
    return engine.search(question, k=5)


def test_the_prompt_is_the_composed_evidence_and_names_the_shape(gpt, stub):
    stub.reply = "I cannot answer from these sources."
    gpt.ask(FILTER_Q)
    prompt = stub.requests[-1].messages[-1]["content"]
    system = stub.requests[-1].messages[0]["content"]
    assert "name every source below that fits" in system
    extractive = gpt.ask(FILTER_Q, llm="extractive")
    for sentence in re.findall(r"^- (.+?) \[\d+\]$", extractive.text, re.M):
        assert sentence in prompt  # every composed quote is in the prompt


def test_a_sentence_whose_numbers_or_terms_are_not_in_the_cited_abstract_does_not_survive(gpt, stub):
    question = "What is TorchTitan?"
    extractive = gpt.ask(question, llm="extractive")
    n = extractive.citations[0].number
    stub.reply = (f"TorchTitan is a PyTorch-native distributed training system [{n}]. "
                  f"TorchTitan was trained on 47 quantum annealers in Antarctica [{n}]. "
                  f"It also requires continuous pre-training to [{n}]")
    answer = gpt.ask(question)
    assert answer.mode == "openai"
    assert "quantum" not in answer.text and "47" not in answer.text  # invented claim: dropped or replaced
    assert "continuous pre-training to" not in answer.text  # the truncated tail never survives
    assert answer.text.startswith("TorchTitan is a PyTorch-native distributed training system")
    assert all(re.search(r"[.!?](?:\s*\[\d+\])+$", s.strip()) for s in re.split(r"(?<=\])\s+", answer.text) if s)


def test_a_list_keeps_every_composed_paper_when_the_model_names_fewer(gpt, stub):
    extractive = gpt.ask(FILTER_Q, llm="extractive")
    first = extractive.citations[0]
    stub.reply = (f"{first.title.split(':')[0]} studies how quality and toxicity filters affect pretrained models "
                  f"[{first.number}].")
    answer = gpt.ask(FILTER_Q)
    assert {c.title for c in extractive.citations} <= {c.title for c in answer.citations}
    assert len(answer.citations) >= 3


def test_an_unsupported_sentence_is_replaced_by_the_composed_quote(gpt, stub):
    extractive = gpt.ask("What is TorchTitan?", llm="extractive")
    stub.reply = "Bananas are yellow and grow in warm climates near the equator [1]."
    answer = gpt.ask("What is TorchTitan?")
    assert "Bananas" not in answer.text
    assert answer.text.split(" [1]")[0] == extractive.text.split(" [1]")[0]  # the defining sentence, quoted


def test_a_fallback_notice_is_metadata_not_answer_text(gpt, stub):
    stub.reply = "Bananas are yellow and grow in warm climates near the equator [9]."
    answer = gpt.ask("What is TorchTitan?")
    assert answer.notice  # said once, as metadata
    assert "not supported" not in answer.text and not answer.text.startswith(">")
    assert "TorchTitan" in answer.text
