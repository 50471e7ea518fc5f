"""POST /v1/embeddings: the bundled MiniLM in OpenAI's shape, for the openai SDK and for other paperchats."""

from __future__ import annotations

import base64

import numpy as np
import openai
import pytest
from fastapi.testclient import TestClient

from rag import Engine
from rag.api import BackgroundServer, create_app
from tests.api.support import TOKEN
from tests.conftest import make_settings

TEXTS = ["Contrastive pretraining of image and text encoders.", "A protein language model predicts structure."]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Engine:
    """An engine whose only job here is embedding (its index stays empty)."""
    return Engine(make_settings(tmp_path_factory.mktemp("served-index"), llm="extractive"))


@pytest.fixture(scope="module")
def server(served):
    with BackgroundServer(create_app(served, warm=False)) as s:
        yield s


@pytest.fixture(scope="module")
def sdk(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused-without-RAG_API_TOKEN", max_retries=0)


@pytest.fixture(scope="module")
def local(served) -> np.ndarray:
    return np.asarray(served.embedder.embed_texts(TEXTS))


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_sdk_gets_the_local_vectors(sdk, local, encoding):
    reply = sdk.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS, encoding_format=encoding)
    rows = [d.embedding for d in sorted(reply.data, key=lambda d: d.index)]
    if encoding == "base64":  # asked for explicitly, the SDK hands over the string: little-endian float32
        rows = [np.frombuffer(base64.b64decode(r), dtype="<f4") for r in rows]
    got = np.asarray(rows)
    assert got.shape == (2, 384)
    np.testing.assert_allclose(got, local, atol=1e-6)
    assert reply.model == "all-minilm-l6-v2"
    assert reply.usage.prompt_tokens > 10


def test_sdk_default_request_and_single_string(sdk, local):
    """Without encoding_format the SDK requests base64 and decodes it itself."""
    reply = sdk.embeddings.create(model="sentence-transformers/all-MiniLM-L6-v2", input=TEXTS[0])
    assert len(reply.data) == 1
    np.testing.assert_allclose(reply.data[0].embedding, local[0], atol=1e-6)


def test_models_lists_the_embedding_model(sdk):
    assert "all-minilm-l6-v2" in [m.id for m in sdk.models.list()]


@pytest.mark.parametrize("body,needle", [
    ({"input": [], "model": "all-MiniLM-L6-v2"}, "empty"),
    ({"input": [""], "model": "all-MiniLM-L6-v2"}, "input[0]` is empty"),
    ({"input": [[101, 2023]], "model": "all-MiniLM-L6-v2"}, "token arrays are not supported"),
    ({"input": ["ok", 3], "model": "all-MiniLM-L6-v2"}, "list of strings"),
    ({"input": ["x" * 20_001], "model": "all-MiniLM-L6-v2"}, "RAG_API_EMBED_MAX_CHARS"),
    ({"input": ["a"] * 2049, "model": "all-MiniLM-L6-v2"}, "RAG_API_EMBED_MAX_INPUTS"),
    ({"input": "a", "model": "all-MiniLM-L6-v2", "dimensions": 256}, "dimensions"),
    (b'{"input": ["ok", "\\ud800"], "model": "all-MiniLM-L6-v2"}', "not valid Unicode"),  # a lone surrogate
])
def test_bad_inputs_get_one_line_400(server, body, needle):
    import httpx

    raw = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) else {"json": body}
    r = httpx.post(server.url + "/v1/embeddings", timeout=30, **raw)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert needle in message and "\n" not in message


def test_unknown_model_is_404_naming_the_served_one(sdk):
    with pytest.raises(openai.NotFoundError, match="all-minilm-l6-v2"):
        sdk.embeddings.create(model="text-embedding-3-small", input="hello")


def test_same_bearer_auth_as_the_other_routes(served, tmp_path):
    locked = Engine(make_settings(tmp_path / "index", api_token=TOKEN), embedder=served.embedder)
    with TestClient(create_app(locked, warm=False)) as c:
        body = {"input": "hello", "model": "all-MiniLM-L6-v2"}
        assert c.post("/v1/embeddings", json=body).status_code == 401
        assert c.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
        ok = c.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and len(ok.json()["data"][0]["embedding"]) == 384
