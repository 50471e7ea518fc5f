"""Shared fixtures: one index of the bundled corpus per test session, small corpora for ingest tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
for _key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # tests choose their backend explicitly
    os.environ.pop(_key, None)

from hypothesis import settings as hypothesis_settings  # noqa: E402

from rag import Engine, Settings  # noqa: E402

# CI replays the same examples every run (a red CI must be reproducible); developers explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"


def make_settings(index_dir: Path, **overrides) -> Settings:
    """Settings isolated from the developer's .env and index."""
    return Settings(_env_file=None, index_dir=index_dir, corpus_dir=CORPUS, **overrides)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """Index dir holding the whole bundled corpus, built once per session (~30 s)."""
    index_dir = tmp_path_factory.mktemp("corpus-index")
    shared = os.environ.get("RAG_TEST_SHARED_INDEX")  # developer speed-up: copy a prebuilt index
    if shared and Path(shared, "chroma").is_dir():
        shutil.copytree(shared, index_dir, dirs_exist_ok=True)
    Engine(make_settings(index_dir)).ingest()  # no-op on a complete copy
    return index_dir


@pytest.fixture(scope="session")
def engine(corpus_index) -> Engine:
    """A shared engine over the bundled corpus in extractive mode (deterministic)."""
    return Engine(make_settings(corpus_index, llm="extractive"))


@pytest.fixture
def write(tmp_path):
    """Write a corpus file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def api_server(engine):
    """The HTTP API (no token, extractive) served by uvicorn in a thread, as `rag api` would; shared by
    the API and reliability tests (the openai SDK and the load clients talk to it over real HTTP)."""
    from rag.api import BackgroundServer, create_app

    with BackgroundServer(create_app(engine)) as server:
        yield server


@pytest.fixture(scope="session")
def client(engine):
    """In-process client of the same API, for status codes and bodies."""
    from fastapi.testclient import TestClient

    from rag.api import create_app

    with TestClient(create_app(engine)) as c:
        yield c
