"""The optional UI login: RAG_UI_AUTH parsing and the sign-in it requires (no browser)."""

from __future__ import annotations

import pytest

from rag.errors import RagError
from ui.app import create_app
from ui.login import parse_auth


@pytest.mark.parametrize("value, expected", [("", None), ("ann:s3cret", ("ann", "s3cret")), ("ann:a:b", ("ann", "a:b"))])
def test_parse_auth(value, expected):
    assert parse_auth(value) == expected


@pytest.mark.parametrize("value", ["ann", ":pw", "ann:"])
def test_parse_auth_rejects_malformed_values(value):
    with pytest.raises(RagError, match="user:password"):
        parse_auth(value)


def test_login_is_required_when_auth_is_set(engine):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(engine, auth=("ann", "s3cret")))
    assert client.get("/config").status_code == 401
    assert client.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 400
    assert client.post("/login", data={"username": "ann", "password": "s3cret"}).status_code == 200
    assert client.get("/config").status_code == 200
