"""Security and recovery findings of issue 15 that need running servers, subprocesses or damaged files:
keys echoed by an upstream LLM error, a client that disconnects mid-stream in local mode, damaged index
files, the Gradio ``ask`` endpoint's arguments, failed UI logins, and links in corpus text."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.api import BackgroundServer, create_app
from rag.types import Answer, Hit
from tests.api.support import engine_sharing_model
from tests.conftest import CORPUS, make_settings
from tests.servers import Failure, Request, StubLLM

RAG = [sys.executable, "-m", "rag.cli"]
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
KEY = "sk-live-abcdef0123456789SECRETKEY"


# --- secrets echoed by an upstream error ---------------------------------------------------------------
def _reject_quoting_headers(request: Request) -> Failure:
    """An OpenAI-compatible server's 400 that quotes the request's headers back."""
    return Failure(400, "Invalid request: unsupported parameter. Request headers were: "
                        f"Authorization: {request.headers.get('Authorization')}", "invalid_request_error")


@pytest.fixture(scope="module")
def echoing_upstream():
    with StubLLM(_reject_quoting_headers) as upstream:
        yield upstream.url


def test_key_echoed_by_the_upstream_never_reaches_any_surface(engine, corpus_index, echoing_upstream, tmp_path):
    from ui import render

    leaky = engine_sharing_model(engine, corpus_index, llm="openai", openai_api_key=KEY,
                                 openai_base_url=echoing_upstream, llm_model="gpt-test", llm_retries=0, llm_timeout=10)
    chat = {"messages": [{"role": "user", "content": TOWER_Q}]}
    with TestClient(create_app(leaky, warm=False)) as c:
        plain = c.post("/v1/chat/completions", json=chat)
        streamed = c.post("/v1/chat/completions", json={**chat, "stream": True})
        asked = c.post("/v1/ask", json={"question": TOWER_Q})
    assert plain.status_code == streamed.status_code == asked.status_code == 200
    assert plain.json()["notice"] and "HTTP 400" in plain.json()["notice"], "the upstream failure is reported"
    answer = leaky.ask(TOWER_Q)
    surfaces = {"chat notice": plain.text, "stream": streamed.text, "ask": asked.text, "engine": answer.notice,
                "ui note": render.message_text(render.turn_from(answer))}
    env = {**os.environ, "RAG_INDEX_DIR": str(corpus_index), "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": echoing_upstream,
           "RAG_LLM_MODEL": "gpt-test", "RAG_LLM_RETRIES": "0", "RAG_LLM": "openai"}
    cli = subprocess.run([*RAG, "ask", TOWER_Q], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-500:]
    surfaces["cli"] = cli.stdout + cli.stderr
    for name, text in surfaces.items():
        assert KEY not in text and KEY[:12] not in text, f"the key leaked through the {name}"


def test_redact_removes_configured_secrets_and_credential_shapes():
    from rag.security import redact

    settings = make_settings(Path("/unused"), api_token="tok-0123456789", openai_api_key=KEY)
    echoed = (f"400: headers {{'authorization': 'Bearer {KEY}', 'x-api-key': 'other-secret-777'}} "
              f"token tok-0123456789 and sk-proj-unrelatedKey12345 api_key=abc123secret \ud800")
    out = redact(echoed, settings)
    for leaked in (KEY, "tok-0123456789", "other-secret-777", "sk-proj-unrelatedKey12345", "abc123secret"):
        assert leaked not in out
    out.encode("utf-8")  # a lone surrogate would make this error message itself a 500
    assert redact("Chroma server at http://127.0.0.1:8000 is unreachable") == \
        "Chroma server at http://127.0.0.1:8000 is unreachable"


# --- a client that disconnects mid-stream (local mode) ----------------------------------------------------
class _SlowLlama:
    """Stands in for llama_cpp.Llama behind the real LocalBackend (and its real lock): generation number
    ``slow_call`` is slow, as a long local answer is (0.25 s a token); the others are quick."""

    def __init__(self, slow_call: int) -> None:
        self.calls = 0
        self.slow_call = slow_call

    def create_chat_completion(self, messages, max_tokens, temperature, stop, stream, seed):
        self.calls += 1
        delay = 0.25 if self.calls == self.slow_call else 0.0

        def chunks():
            for i in range(max_tokens):
                time.sleep(delay)
                yield {"choices": [{"delta": {"content": f" tower{i}"}}]}  # one long sentence: all of it is read

        return chunks()


def test_disconnect_mid_stream_leaves_the_next_local_answer_fast(engine, corpus_index):
    """The abandoned answer must release the local model when the client goes, not when the garbage
    collector finds it (45-150 s in production): collection is switched off to make that deterministic."""
    from rag import Engine
    from rag.llm.local import LocalBackend

    settings = make_settings(corpus_index, llm="local", llm_timeout=120, llm_max_tokens=128)
    backend = LocalBackend(settings, Path("fake-SmolLM2.gguf"))
    backend._llama = _SlowLlama(slow_call=2)
    local = Engine(settings, embedder=engine.embedder, backends={"local": backend})
    body = {"model": "paperchat-local", "messages": [{"role": "user", "content": TOWER_Q}]}
    gc.disable()
    try:
        with BackgroundServer(create_app(local, warm=False)) as server, \
                httpx.Client(base_url=server.url, timeout=60) as client:
            t0 = time.monotonic()
            assert client.post("/v1/chat/completions", json=body).status_code == 200  # warm; a quick generation
            baseline = time.monotonic() - t0
            with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
                lines = r.iter_lines()  # kept open: dropping the iterator would already disconnect
                assert next(lines).startswith("data: ")  # the answer is streaming
                deadline = time.monotonic() + 60
                while backend._llama.calls < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(1.0)
                assert backend._llama.calls == 2 and backend._lock.locked(), "the slow generation is running"
            gone = time.monotonic()  # the client has disconnected mid-generation (~30 s of tokens left)
            while backend._lock.locked() and time.monotonic() - gone < 20:
                time.sleep(0.05)
            released = time.monotonic() - gone
            t0 = time.monotonic()
            r = client.post("/v1/chat/completions", json=body, timeout=30)
            after = time.monotonic() - t0
    finally:
        gc.enable()
    print(f"lock released {released:.2f} s after the disconnect; answers: {baseline:.2f} s before, {after:.2f} s after")
    assert released < 3, f"the local model stayed locked {released:.1f} s after the client left"
    assert r.status_code == 200 and backend._llama.calls == 3
    assert after < baseline + 5, f"the next local answer took {after:.1f} s (a normal one {baseline:.1f} s)"


# --- damaged index files ---------------------------------------------------------------------------------
@pytest.fixture
def index_copy(corpus_index, tmp_path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(corpus_index, target)
    return target


def _truncate_bm25(index: Path) -> None:
    files = [f for f in (index / "bm25" / "papers").rglob("*") if f.is_file() and f.name != "paperchat_state.json"]
    assert files
    for f in files:
        f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])


def test_truncated_bm25_files_are_rebuilt_and_answers_keep_working(engine, index_copy):
    _truncate_bm25(index_copy)
    copy = engine_sharing_model(engine, index_copy)
    with TestClient(create_app(copy, warm=False)) as c:
        health = c.get("/healthz")
        r = c.post("/v1/ask", json={"question": TOWER_Q})
    assert health.status_code == 200, health.text
    assert r.status_code == 200, r.text[:300]
    assert TOWER in [x["title"] for x in r.json()["citations"]]
    assert engine_sharing_model(engine, index_copy).bm25._load() is not None, "the rebuilt copy was saved"


def test_rag_ingest_rebuild_repairs_bm25_and_doctor_reports(index_copy, tmp_path):
    _truncate_bm25(index_copy)
    env = {**os.environ, "RAG_INDEX_DIR": str(index_copy), "RAG_LLM": "extractive"}
    doctor = subprocess.run([*RAG, "doctor"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert doctor.returncode == 1 and "FAIL" in doctor.stdout and "bm25" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "Traceback" not in doctor.stderr
    run = subprocess.run([*RAG, "ingest", "--rebuild", "--json", str(CORPUS)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-800:]
    assert json.loads(run.stdout)["papers"] == 410
    doctor = subprocess.run([*RAG, "doctor", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert {c["check"] for c in json.loads(doctor.stdout) if c["ok"]} >= {"chroma", "vector search", "bm25"}


def test_damaged_chroma_store_is_one_line_and_rag_ingest_rebuild_repairs_it(engine, tmp_path):
    index = tmp_path / "index"
    corpus = CORPUS / "002_7a8dca04cfcb20db.txt"
    assert engine_sharing_model(engine, index).ingest([corpus]).papers == 41
    db = index / "chroma" / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    data[:4096] = b"\x5a" * 4096  # the SQLite header and first page overwritten
    db.write_bytes(bytes(data))
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_LLM": "extractive"}
    search = subprocess.run([*RAG, "search", "translation"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    lines = search.stderr.strip().splitlines()
    assert search.returncode == 1 and len(lines) == 1, search.stderr[-1500:]
    assert str(index / "chroma") in lines[0] and "rag ingest --rebuild" in lines[0]
    doctor = subprocess.run([*RAG, "doctor"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr
    run = subprocess.run([*RAG, "ingest", "--rebuild", "--json", str(corpus)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-1500:]
    assert json.loads(run.stdout)["papers"] == 41
    again = subprocess.run([*RAG, "search", "translation", "--json"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout), again.stderr[-800:]
    assert list(index.glob("chroma.damaged-*")), "the damaged store is kept aside, not deleted"


def test_damaged_sentence_cache_is_started_afresh(tmp_path):
    import numpy as np

    from rag.embed import SentenceVectorStore

    path = tmp_path / "sentence-vectors.sqlite"
    path.write_bytes(b"this is not a database" * 200)
    store = SentenceVectorStore(path, "model")
    store.put({"a sentence": np.ones(4, dtype=np.float32)})
    assert list(store.get(["a sentence"])) == ["a sentence"] and store.count() == 1 and not store.broken


# --- the Gradio ask endpoint, UI logins, corpus links ---------------------------------------------------------
def test_gradio_ask_endpoint_validates_its_arguments(engine):
    from gradio_client import Client

    from tools.browser import running_app

    with running_app(engine) as url:
        client = Client(url, verbose=False, download_files=False)
        for k in (100000, 0, "abc", 2.5):
            with pytest.raises(Exception, match="k must be a whole number") as info:
                client.predict(TOWER_Q, k, api_name="/ask")
            assert "Traceback" not in str(info.value)
        with pytest.raises(Exception, match="four-digit year"):
            client.predict(TOWER_Q, 3, "last year", api_name="/ask")
        with pytest.raises(Exception, match="surrogate"):
            client.predict("\ud800 What is Tower+?", 3, api_name="/ask")
        text, citations = client.predict(TOWER_Q, 3, api_name="/ask")
        assert TOWER in [c["title"] for c in citations]


def test_failed_ui_logins_are_throttled_per_client(engine):
    from ui.app import create_app as create_ui

    with TestClient(create_ui(engine, auth=("ann", "s3cret"))) as c:
        codes = [c.post("/login", data={"username": "ann", "password": f"guess{i}"}).status_code for i in range(20)]
        assert codes[:5] == [400] * 5, codes
        assert codes.count(429) >= 14, f"20 wrong passwords were all checked: {codes}"
        locked = c.post("/login", data={"username": "ann", "password": "s3cret"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1


def test_login_throttle_backs_off_exponentially_and_forgets_on_success():
    from rag.security import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(free=3, cap=60, clock=lambda: now[0])
    assert [throttle.failed("1.2.3.4") for _ in range(6)] == [0, 0, 1, 2, 4, 8]
    assert throttle.retry_after("1.2.3.4") == 8 and throttle.retry_after("5.6.7.8") == 0
    now[0] += 8
    assert throttle.retry_after("1.2.3.4") == 0
    assert throttle.failed("1.2.3.4") == 16
    throttle.succeeded("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") == 0 and throttle.failed("1.2.3.4") == 0


LINKY = ("We release code at [our repo](https://evil.example/x) and [click](javascript:alert(1)); see "
         "https://evil.example/bare, www.evil.example or mail attacker@evil.example. <img src=x onerror=alert(2)>")


def test_corpus_links_render_as_text_and_cards_link_only_http():
    from markdown_it import MarkdownIt

    from rag.security import safe_href
    from ui import render

    answer = Answer(question="q", text=LINKY + " [1]", mode="extractive",
                    sources=[Hit(paper_id="p", title="Evil [paper](javascript:alert(3))", score=1.0, snippet=LINKY,
                                 url="javascript:alert(4)"),
                             Hit(paper_id="q", title="Good", score=0.5, snippet="ok", url="https://arxiv.org/abs/1")])
    source = render.message_text(render.turn_from(answer))
    html = MarkdownIt("commonmark", {"html": True}).render(source)
    assert "<a " not in html and "<img" not in html, html
    # GFM autolinks (Gradio's renderer) fire on a literal "scheme://", "www." or an e-mail address
    assert "https://" not in source and "www.evil" not in source and "attacker@evil" not in source
    assert "[1]" in html and "evil.example" in html, "the text itself is kept"
    cards = render.sources_panel([render.turn_from(answer)])
    assert 'href="javascript' not in cards.lower(), "a corpus javascript: URL never reaches a card"
    assert 'href="https://arxiv.org/abs/1"' in cards
    assert all(h.startswith('"https://') for h in cards.split("href=")[1:]), "cards link only to http(s)"
    assert safe_href("JavaScript:alert(1)") is None and safe_href("data:text/html,x") is None
    assert safe_href("http://x.org/a?b=c") == "http://x.org/a?b=c" and safe_href("//x.org") is None
