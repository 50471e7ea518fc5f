"""The paperchat routes: search, ask, health, ingest, auth, body limits, error shapes, secrets."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from tests.api.support import TOKEN, engine_sharing_model

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_search_returns_ranked_hits_with_facts(client):
    r = client.post("/v1/search", json={"query": "Tower+ translation and general chat", "k": 3})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert len(hits) == 3 and hits[0]["title"] == TOWER
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert set(hits[0]) >= {"paper_id", "snippet", "date", "sources", "dense", "bm25"}


def test_search_year_filter_applies(client):
    hits = client.post("/v1/search", json={"query": "pretraining", "k": 10, "year_from": 2025, "year_to": 2025}).json()["hits"]
    assert hits and all(h["date"].startswith("2025") for h in hits)


def test_ask_returns_the_cli_json_shape(client):
    r = client.post("/v1/ask", json={"question": "How does Tower+ balance translation quality with general chat ability?"})
    assert r.status_code == 200
    data = r.json()
    assert TOWER in [c["title"] for c in data["citations"]]
    retrieved = {s["paper_id"] for s in data["sources"]}
    assert all(c["paper_id"] in retrieved for c in data["citations"])
    assert data["mode"] == "extractive" and data["refused"] is False
    assert data["standalone_question"] == data["question"], "a single question is searched as asked"
    tower = next(c for c in data["citations"] if c["title"] == TOWER)
    assert set(tower) == {"n", "title", "paper_id", "url", "date", "authors"}
    assert (tower["date"], tower["authors"]) == ("2025-06-20", 7)
    assert tower["url"].startswith("https://arxiv.org/search/") and "Tower%2B" in tower["url"]
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    assert all(f"[{c['n']}]" in data["answer"] for c in data["citations"])
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"] > 0


def test_healthz_reports_index_facts(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    facts = r.json()
    assert (facts["status"], facts["papers"], facts["answer_mode"]) == ("ok", 410, "extractive")
    assert facts["chunks"] >= 410 and len(facts["sources"]) == 5


@pytest.mark.parametrize("body", [{"question": ""}, {"question": " \t\n "}, {"question": "\x00\x07\x1b"}])
def test_empty_questions_get_a_400_one_liner(client, body):
    r = client.post("/v1/ask", json=body)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "The question is empty: type a question about the indexed papers."


def test_overlong_question_gets_a_400_naming_the_limit(client):
    r = client.post("/v1/ask", json={"question": "why " * 25_000})  # 100,000 characters
    assert r.status_code == 400
    assert "RAG_MAX_QUESTION_CHARS" in r.json()["error"]["message"]


def test_invalid_fields_get_a_422_one_liner(client):
    r = client.post("/v1/search", json={"query": "x", "k": 0})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("Invalid request: k:")
    assert "\n" not in r.json()["error"]["message"]


@pytest.mark.parametrize("path, body", [
    ("/v1/search", {"query": "x", "year_to": True}),  # JSON true is not the year 1
    ("/v1/search", {"query": "x", "k": "3"}),
    ("/v1/ask", {"question": "x", "k": True}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "stream": 1}),
])
def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(client, path, body):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("Invalid request:")


def test_huge_body_is_refused_with_413(client):
    big = {"question": "x" * 1_100_000}  # above the 1,000,000-byte default
    r = client.post("/v1/ask", json=big)
    assert r.status_code == 413 and "RAG_API_MAX_BODY_BYTES" in r.json()["error"]["message"]
    # A chunked body (no Content-Length) is counted as it arrives.
    chunked = client.post("/v1/ask", content=iter([json.dumps(big).encode()[i:i + 65536] for i in range(0, 1_100_020, 65536)]),
                          headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_openapi_schema_is_published_and_root_is_free_for_the_ui(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/search", "/v1/ask", "/v1/ingest", "/healthz"} <= set(schema["paths"])
    assert client.get("/").status_code == 404


@pytest.mark.parametrize("method,path", [("get", "/healthz"), ("get", "/v1/models"), ("post", "/v1/search"),
                                         ("post", "/v1/ask"), ("post", "/v1/chat/completions")])
def test_token_is_required_everywhere_when_set(token_client, method, path):
    body = {"query": "x", "question": "x", "messages": [{"role": "user", "content": "x"}]}
    kwargs = {"json": body} if method == "post" else {}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = getattr(token_client, method)(path, headers=headers, **kwargs)
        assert r.status_code == 401, (path, headers)
        assert r.headers["www-authenticate"] == "Bearer"
    assert token_client.get("/healthz", headers=AUTH).status_code == 200


def test_ingest_is_refused_without_a_configured_token(client, tmp_path):
    r = client.post("/v1/ingest", json={"paths": [str(tmp_path)]})
    assert r.status_code == 403 and "RAG_API_TOKEN" in r.json()["error"]["message"]


def test_ingest_with_token_adds_papers_and_reports_bad_files(engine, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [{"title": f"Synthetic paper number {i} on tensor gardening",
             "abstract": f"We grow tensors in gardens. Method {i} waters them daily and measures growth rates."}
            for i in range(3)]
    (corpus / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    writer = engine_sharing_model(engine, tmp_path / "index", api_token=TOKEN, ingest_root=corpus)
    with TestClient(create_app(writer, warm=False)) as c:
        assert c.post("/v1/ingest", json={"paths": [str(corpus)]}).status_code == 401
        r = c.post("/v1/ingest", json={"paths": [str(corpus)]}, headers=AUTH)
        assert r.status_code == 200 and r.json()["added"] == 3 and r.json()["papers"] == 3
        (corpus / "b.csv").write_text("title,summary\nA paper,with no abstract column\n")
        bad = c.post("/v1/ingest", json={"paths": [str(corpus)]}, headers=AUTH)
        assert bad.status_code == 400
        assert bad.json()["error"]["message"].endswith("b.csv:1: CSV has no 'abstract' column (it needs 'title' and "
                                                       "'abstract' columns)")
        assert c.get("/healthz", headers=AUTH).json()["papers"] == 3


def test_secrets_never_reach_error_bodies_or_logs(engine, corpus_index, caplog):
    key = "sk-test-secret-key-0123456789"
    settings = {"api_token": TOKEN, "openai_api_key": key, "openai_base_url": "http://127.0.0.1:9/v1",
                "llm": "openai", "llm_retries": 0, "llm_timeout": 2}
    leaky = engine_sharing_model(engine, corpus_index, **settings)
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(leaky, warm=False)) as c:
        bodies = [
            c.get("/v1/models", headers={"Authorization": f"Bearer {TOKEN}x"}).text,
            c.post("/v1/ask", json={"question": ""}, headers=AUTH).text,
            c.post("/v1/ask", json={"question": "How does Tower+ balance translation and chat?"}, headers=AUTH).text,
            c.post("/v1/chat/completions", headers=AUTH, json={"stream": True, "messages": [
                {"role": "user", "content": "How does Tower+ balance translation and chat?"}]}).text,
        ]
    answer = json.loads(bodies[2])
    assert answer["notice"], "the unreachable LLM is reported (and the extractive answer shown)"
    for text in bodies + [caplog.text]:
        assert key not in text and TOKEN not in text
