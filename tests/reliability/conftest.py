"""Reliability fixtures: the API over HTTP on the session index (helpers live in servers.py)."""

from __future__ import annotations

import pytest

from rag.api import BackgroundServer, create_app


@pytest.fixture(scope="session")
def load_server(engine):
    """The API (no token, extractive) served by uvicorn in a thread, as `rag api` would."""
    with BackgroundServer(create_app(engine)) as server:
        yield server


@pytest.fixture(scope="session")
def client(engine):
    """In-process client of the API on the session index, for status codes and bodies."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(engine)) as c:
        yield c
