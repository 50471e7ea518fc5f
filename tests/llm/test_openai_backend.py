"""The ``openai`` backend against a real OpenAI-compatible server (llama.cpp), and its failure modes.

Fault servers (401, 503, a socket that never answers) are tiny real HTTP/TCP servers on 127.0.0.1:
the openai SDK, our retries and the fallback all run for real.
"""

from __future__ import annotations

import pytest

from rag import Engine
from rag.types import Answer
from tests.conftest import make_settings
from tests.llm.conftest import LLM_OPTIONS, TOWER, TOWER_Q, collect, share_components
from tests.servers import Failure, LlamaServer, SilentLLM, StubLLM, free_port

pytestmark = pytest.mark.llm

# SmolLM2 served by llama.cpp's server answers this one with a sentence that passes the support check
# (for the Tower+ question its reply is rejected and the extractive fallback is shown instead).


def fault_engine(engine: Engine, corpus_index, url: str, **overrides) -> Engine:
    settings = make_settings(corpus_index, llm="openai", openai_base_url=url, openai_api_key="sk-test",
                             llm_model="any", **(LLM_OPTIONS | overrides))
    return share_components(engine, settings)


def assert_extractive_fallback(answer: Answer, notice_part: str) -> None:
    assert notice_part in answer.notice
    assert "showing the extractive answer" in answer.notice
    assert answer.mode == "extractive" and answer.model == "extractive"
    assert answer.text and answer.citations, "the fallback still answers, with citations"
    assert answer.sources[0].title == TOWER, "the retrieved sources are kept"


def test_non_streaming_answer_maps_citations_to_titles(openai_engine):
    # Tower+, not "What is CodeT5+?": shown one evidence sentence per source, SmolLM2 answers the CodeT5+
    # lookup with an invented affiliation, which the support check rightly turns into the extractive answer.
    answer = openai_engine.ask(TOWER_Q)
    assert answer.mode == "openai" and not answer.notice, answer.notice
    assert "SmolLM2-135M-Instruct" in answer.model and "(openai @ http://127.0.0.1" in answer.model
    assert TOWER in [c.title for c in answer.citations]
    retrieved = {h.title for h in answer.sources}
    assert all(c.title in retrieved for c in answer.citations)
    assert answer.text.count("[") >= 1 and not answer.refused


def test_streaming_answer_equals_the_streamed_text(openai_engine):
    deltas, answer, _ = collect(openai_engine, TOWER_Q)
    assert answer.mode == "openai", answer.notice
    assert deltas and "".join(deltas) == answer.text, "what streamed is exactly the final (verified) answer"
    assert TOWER in [c.title for c in answer.citations]


def test_server_stopped_mid_session_falls_back_to_extractive(engine, corpus_index, gguf):
    port = free_port()
    server = LlamaServer(gguf, port, n_ctx=1024)
    server.start()
    try:
        session_engine = fault_engine(engine, corpus_index, f"http://127.0.0.1:{port}/v1", llm_retries=1,
                                      llm_timeout=60, context_tokens=640)
        # The session's first answer must come from the server (whether SmolLM2's sentences pass the claim
        # checks depends on the llama.cpp build; a "not supported" fallback still means the server answered).
        first = session_engine.ask(TOWER_Q)
        assert first.mode == "openai" or "not supported" in first.notice, first.notice  # the server answered
    finally:
        server.stop()
    _, answer, elapsed = collect(session_engine)
    assert_extractive_fallback(answer, f"The LLM at http://127.0.0.1:{port}/v1 was unreachable after 2 attempts")
    assert elapsed < 15


@pytest.fixture
def silent_server():
    """Accepts connections and never answers: the slow-endpoint case."""
    with SilentLLM() as server:
        yield server.url


def test_timeout_returns_extractive_answer_within_seconds(engine, corpus_index, silent_server):
    slow = fault_engine(engine, corpus_index, silent_server, llm_timeout=1, llm_retries=1)
    _, answer, elapsed = collect(slow)
    assert_extractive_fallback(answer, "did not answer in time (RAG_LLM_TIMEOUT) after 2 attempts")
    assert elapsed < 8, f"two 1 s attempts and one backoff must not take {elapsed:.1f} s"


def test_bad_key_gets_one_clear_line_and_no_retries(engine, corpus_index):
    with StubLLM(Failure(401, "Incorrect API key provided")) as server:
        answer = fault_engine(engine, corpus_index, server.url, llm_retries=3).ask(TOWER_Q)
    assert len(server.requests) == 1
    assert "\n" not in answer.notice
    assert_extractive_fallback(answer, "rejected the API key (HTTP 401): check OPENAI_API_KEY")


@pytest.mark.parametrize(("status", "words"), [(503, "returned a server error (HTTP 503)"),
                                               (429, "is rate-limiting requests (HTTP 429)")])
def test_5xx_and_429_are_retried_with_backoff_then_fall_back(engine, corpus_index, status, words):
    with StubLLM(Failure(status, "busy")) as server:
        _, answer, elapsed = collect(fault_engine(engine, corpus_index, server.url, llm_retries=2))
    assert len(server.requests) == 3, "1 attempt + RAG_LLM_RETRIES=2"
    assert_extractive_fallback(answer, f"{words} after 3 attempts")
    assert 1.4 < elapsed < 10, "backoff of 0.5 s then 1 s between the attempts"
