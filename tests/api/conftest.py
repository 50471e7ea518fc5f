"""API fixtures: one uvicorn server per session on the shared bundled-corpus index (extractive mode)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag import Engine
from rag.api import BackgroundServer, create_app
from tests.api.support import TOKEN


@pytest.fixture(scope="session")
def api_server(engine):
    """The API without a token, served over real HTTP (the openai SDK talks to it)."""
    with BackgroundServer(create_app(engine)) as server:
        yield server


@pytest.fixture(scope="session")
def client(engine):
    """In-process client of the same app, for status codes and bodies."""
    with TestClient(create_app(engine)) as c:
        yield c


@pytest.fixture(scope="session")
def token_client(engine):
    """A second app on the same index with RAG_API_TOKEN set."""
    locked = Engine(engine.settings.model_copy(update={"api_token": TOKEN}))
    locked.__dict__["embedder"] = engine.embedder
    with TestClient(create_app(locked)) as c:
        yield c
