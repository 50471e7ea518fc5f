"""API fixtures beyond the shared `api_server` and `client` (tests/conftest.py): a token-protected app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag import Engine
from rag.api import create_app
from tests.api.support import TOKEN


@pytest.fixture(scope="session")
def token_client(engine):
    """A second app on the same index with RAG_API_TOKEN set."""
    locked = Engine(engine.settings.model_copy(update={"api_token": TOKEN}), embedder=engine.embedder)
    with TestClient(create_app(locked)) as c:
        yield c
