"""The real openai SDK against the running API: the engine works as an OpenAI "model"."""

from __future__ import annotations

import openai
import pytest
from fastapi.testclient import TestClient

from rag import REFUSAL
from rag.api import create_app
from tests.api.support import engine_sharing_model

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"


def titles(citations: list[dict]) -> list[str]:
    return [c["title"] for c in citations]


@pytest.fixture(scope="module")
def sdk(api_server):
    return openai.OpenAI(base_url=api_server.url + "/v1", api_key="unused-without-RAG_API_TOKEN", max_retries=0)


def test_models_lists_paperchat(sdk):
    ids = [m.id for m in sdk.models.list()]
    assert ids[0] == "paperchat"
    assert "paperchat-extractive" in ids


def test_completion_carries_answer_sources_and_citations(sdk):
    reply = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q}])
    content = reply.choices[0].message.content
    citations = reply.model_extra["citations"]
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert TOWER in titles(citations)
    body, sources = content.split("\n\nSources:\n")
    assert "[1]" in body
    assert all(f"[{c['n']}] {c['title']}" in sources for c in citations), "every cited title is listed under Sources"
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1)), "numbered 1..m without gaps"
    assert all(f"[{c['n']}]" in body and c["url"].startswith("https://") for c in citations)
    assert reply.usage.total_tokens > 0 and reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_streaming_ends_with_citations_and_matches_the_plain_reply(sdk):
    stream = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q}],
                                         stream=True)
    chunks = list(stream)  # the SDK stops at `data: [DONE]`
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert TOWER in titles(chunks[-1].model_extra["citations"])
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    plain = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q}])
    assert streamed == plain.choices[0].message.content
    assert chunks[-1].model_extra["citations"] == plain.model_extra["citations"], "the stream cites like the reply"
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens > 0


def test_history_comes_from_the_messages_only(sdk):
    follow_up = "which languages does it cover?"
    with_history = sdk.chat.completions.create(model="paperchat", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": TOWER_Q},
        {"role": "assistant", "content": "Tower+ is trained in stages. [1]\n\nSources:\n[1] " + TOWER},
        {"role": "user", "content": follow_up},
    ])
    assert TOWER in titles(with_history.model_extra["citations"])
    alone = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": follow_up}])
    assert TOWER not in titles(alone.model_extra["citations"]), "the previous request's conversation must not leak in"


def test_text_content_parts_are_accepted(sdk):
    reply = sdk.chat.completions.create(model="paperchat-extractive", messages=[
        {"role": "user", "content": [{"type": "text", "text": TOWER_Q}]}])
    assert reply.model == "paperchat-extractive"
    assert TOWER in titles(reply.model_extra["citations"])


def test_refusal_has_no_sources_and_no_citations(engine, corpus_index):
    # A threshold no evidence reaches makes every answer a refusal, whatever the calibration is.
    strict = engine_sharing_model(engine, corpus_index, refusal_threshold=1.0)
    with TestClient(create_app(strict, warm=False)) as http:
        sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=http, max_retries=0)
        reply = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q}])
    assert reply.model_extra["refused"] is True
    assert reply.choices[0].message.content.startswith(REFUSAL)
    assert reply.model_extra["citations"] == []


@pytest.mark.parametrize("content", ["", "   \n\t"])
def test_empty_question_is_a_400_with_one_line(sdk, content):
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": content}])
    assert info.value.status_code == 400
    assert info.value.body["message"] == "The question is empty: type a question about the indexed papers."


def test_last_message_must_be_the_users(sdk):
    with pytest.raises(openai.BadRequestError, match="last message must come from the user"):
        sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q},
                                                                 {"role": "assistant", "content": "ok"}])


def test_wrong_token_is_rejected_by_the_sdk(token_client):
    locked = openai.OpenAI(base_url="http://testserver/v1", api_key="wrong", http_client=token_client, max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="bearer token"):
        locked.models.list()


def test_multi_turn_conversation_follows_the_cited_paper_and_never_repeats(sdk):
    """Three turns as an OpenAI client sends them (the whole conversation every time)."""
    titan = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"
    messages: list[dict] = []
    replies = []
    for question in ("What is TorchTitan?", "What does it report?", "and which dataset?"):
        messages.append({"role": "user", "content": question})
        reply = sdk.chat.completions.create(model="paperchat", messages=messages)
        content = reply.choices[0].message.content
        messages.append({"role": "assistant", "content": content})
        replies.append((content.split("\n\nSources:\n")[0], reply.model_extra))
    assert [titles(extra["citations"]) for _, extra in replies] == [[titan]] * 3
    assert replies[0][1]["standalone_question"] == "What is TorchTitan?"
    assert replies[1][1]["standalone_question"].startswith("What does TorchTitan report?")
    texts = [text for text, _ in replies]
    assert len(set(texts)) == 3 and not any(texts[1].split(" [1]")[0] in t for t in (texts[0], texts[2]))
    assert texts[2].startswith("The TorchTitan abstract does not mention a dataset.")


def test_follow_up_refers_to_the_paper_the_client_was_shown(sdk):
    """'it' means the paper in the earlier reply's Sources block, not the earlier question's topic."""
    arctic = "Arctic-SnowCoder: Demystifying High-Quality Data in Code Pretraining"
    reply = sdk.chat.completions.create(model="paperchat", messages=[
        {"role": "user", "content": "Which paper studies high-quality data for code pretraining?"},
        {"role": "assistant", "content": "It studies code data. [1]\n\nSources:\n[1] " + arctic},
        {"role": "user", "content": "How many tokens was it pretrained on in total?"},
    ])
    assert arctic in reply.model_extra["standalone_question"]
    assert titles(reply.model_extra["citations"]) == [arctic]
    assert "tokens" in reply.choices[0].message.content.split("Sources:")[0]


def test_streamed_follow_up_ends_with_the_standalone_question(sdk):
    titan = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"
    stream = sdk.chat.completions.create(model="paperchat", stream=True, messages=[
        {"role": "user", "content": "What is TorchTitan?"},
        {"role": "assistant", "content": "A training system. [1]\n\nSources:\n[1] " + titan},
        {"role": "user", "content": "What does it report?"},
    ])
    last = list(stream)[-1]
    assert last.model_extra["standalone_question"].startswith("What does TorchTitan report?")
    assert titles(last.model_extra["citations"]) == [titan]


def test_dialogue_evaluation_through_the_api_reads_citation_objects(client):
    """`rag eval --dialogues --api` scores the titles of the citation objects the API returns."""
    from rag.evaluation.dialogues import Dialogue, DialogueTurn, run_api

    dialogue = Dialogue("api-1", "pronoun", [DialogueTurn(TOWER_Q, [TOWER]), DialogueTurn("What does it report?", [TOWER])])
    results = run_api(lambda path, body: client.post(path, json=body).json(), dialogue)
    assert [r.correct for r in results] == [True, True]
