"""Security findings of issue 15, each reproduced against the HTTP API: the API beside a login-protected UI,
ingest of server paths (outside the root, symlinks, FIFOs, size, prune, content in errors), lone surrogates,
and the length limit of long conversations."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from tests.api.support import TOKEN, engine_sharing_model

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
SECRET_LINE = "root:x:0:0:SECRET-CONTENT-LINE-7f3a:/root:/bin/bash"
ROWS = [{"title": f"Synthetic paper number {i} on tensor gardening",
         "abstract": f"We grow tensors in gardens. Method {i} waters them daily and measures growth rates."}
        for i in range(3)]
OTHER = [{"title": "Quantum Sourdough: Fermentation Schedules for Annealing",
          "abstract": "We map bread fermentation schedules onto quantum annealing. Longer proofing finds lower energy."}]


# --- one auth model: the API beside a login-protected UI -------------------------------------------------
def test_mounted_api_requires_the_ui_login_or_the_token(engine):
    from ui.app import create_app as create_ui

    with TestClient(create_ui(engine, auth=("ann", "s3cret"))) as c:
        for method, path, body in [("post", "/v1/search", {"query": "Tower+"}), ("post", "/v1/ask", {"question": TOWER_Q}),
                                   ("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": TOWER_Q}]}),
                                   ("get", "/v1/models", None), ("get", "/healthz", None)]:
            r = getattr(c, method)(path, **({"json": body} if body else {}))
            assert r.status_code == 401, (path, r.text[:200])
            assert "Sign in" in r.json()["error"]["message"]
        assert c.post("/login", data={"username": "ann", "password": "s3cret"}).status_code == 200
        r = c.post("/v1/search", json={"query": "Tower+ translation", "k": 1})
        assert r.status_code == 200 and r.json()["hits"], "the login session opens the API"
    locked = engine_sharing_model(engine, engine.settings.index_dir, api_token=TOKEN)
    with TestClient(create_ui(locked, auth=("ann", "s3cret"))) as c:
        assert c.post("/v1/search", json={"query": "Tower+"}).status_code == 401
        assert c.post("/v1/search", json={"query": "Tower+", "k": 1}, headers=AUTH).status_code == 200


def test_non_loopback_bind_warns_on_one_line_naming_the_open_surface(engine, capsys):
    import socket

    from rag.security import exposure_warning
    from ui import app as ui_app

    with socket.socket() as busy:  # the port is taken, so serve() stops right after its checks
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        with pytest.raises(Exception, match="Cannot listen"):
            ui_app.serve(engine, host="0.0.0.0", port=busy.getsockname()[1])
    err = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in err if line.startswith("warning:")]
    assert len(warnings) == 1 and "HTTP API" in warnings[0] and "RAG_API_TOKEN" in warnings[0], err
    s = engine.settings
    assert "HTTP API" in exposure_warning(s, "0.0.0.0", ui=False)
    assert exposure_warning(s.model_copy(update={"ui_auth": "a:b"}), "0.0.0.0", ui=True) is None
    assert "HTTP API" in exposure_warning(s.model_copy(update={"ui_auth": "a:b"}), "0.0.0.0", ui=False)
    assert exposure_warning(s.model_copy(update={"api_token": "t" * 8}), "10.0.0.5", ui=False) is None
    assert exposure_warning(s, "127.0.0.1", ui=True) is None and exposure_warning(s, "::1", ui=True) is None


# --- ingest over HTTP ------------------------------------------------------------------------------------
@pytest.fixture
def ingest_setup(engine, tmp_path):
    """An index of two files (3 + 1 papers) under an ingest root, a writer engine with a token, and an
    'outside' folder holding a file that must never be read."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    (root / "b.jsonl").write_text("\n".join(json.dumps(r) for r in OTHER))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.jsonl").write_text(json.dumps({"title": "Leaked outside paper on tensor gardening",
                                                      "abstract": SECRET_LINE}))
    writer = engine_sharing_model(engine, tmp_path / "index", api_token=TOKEN, ingest_root=root,
                                  ingest_max_file_bytes=4096, ingest_read_timeout=2)
    assert writer.ingest([root]).papers == 4
    return writer, root, outside


def _post(c: TestClient, body: dict):
    return c.post("/v1/ingest", json=body, headers=AUTH)


def test_paths_outside_the_root_are_refused_with_one_message_for_missing_and_forbidden(ingest_setup):
    writer, root, outside = ingest_setup
    with TestClient(create_app(writer, warm=False)) as c:
        messages = {}
        for path in ["/etc/passwd", str(outside / "passwd.jsonl"), str(outside / "missing.txt"),
                     str(root / "missing.txt"), "../outside/passwd.jsonl", "/dev/zero"]:
            r = _post(c, {"paths": [path]})
            assert r.status_code == 400, (path, r.text)
            messages[path] = r.json()["error"]["message"].replace(path, "<path>")
            assert "root:" not in r.text and "SECRET" not in r.text
        assert len(set(messages.values())) == 1, f"the messages tell existing from missing files: {messages}"
        assert "no such file" not in next(iter(messages.values()))
        assert c.get("/healthz", headers=AUTH).json()["papers"] == 4


def test_symlink_leaving_the_root_is_refused_and_its_content_never_searchable(ingest_setup):
    writer, root, outside = ingest_setup
    (root / "link.jsonl").symlink_to(outside / "passwd.jsonl")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    with TestClient(create_app(writer, warm=False)) as c:
        for body in ({"paths": ["link.jsonl"]}, {"paths": [str(root / "linkdir")]}, {"paths": [str(root)]}):
            r = _post(c, body)
            assert r.status_code == 400 and "SECRET" not in r.text, (body, r.text)
        hits = c.post("/v1/search", json={"query": "Leaked outside paper tensor gardening", "k": 10},
                      headers=AUTH).json()["hits"]
        assert all("Leaked" not in h["title"] for h in hits)


def test_fifo_is_refused_at_once_and_does_not_hold_the_ingest_lock(ingest_setup):
    writer, root, _ = ingest_setup
    fifo = root / "pipe.jsonl"
    os.mkfifo(fifo)
    results: list = []
    with TestClient(create_app(writer, warm=False)) as c:
        def call():
            results.append(_post(c, {"paths": [str(fifo)]}))

        worker = threading.Thread(target=call, daemon=True)
        t0 = time.monotonic()
        worker.start()
        worker.join(timeout=10)
        try:
            assert not worker.is_alive(), "ingesting a FIFO hangs the request"
        finally:
            if worker.is_alive():  # unblock a reader stuck on the FIFO, so the test process can end
                threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True).start()
                worker.join(timeout=10)
        assert results[0].status_code == 400 and time.monotonic() - t0 < 5
        assert writer._ingest_lock.acquire(timeout=1), "the ingest lock is free"
        writer._ingest_lock.release()


def test_oversized_file_is_refused_with_the_setting_named(ingest_setup):
    writer, root, _ = ingest_setup
    big = root / "big.jsonl"
    big.write_text("\n".join(json.dumps({"title": f"Big paper {i}", "abstract": "x " * 50}) for i in range(100)))
    assert big.stat().st_size > 4096
    with TestClient(create_app(writer, warm=False)) as c:
        r = _post(c, {"paths": ["big.jsonl"]})
    assert r.status_code == 400 and "RAG_INGEST_MAX_FILE_BYTES" in r.json()["error"]["message"]


def test_prune_over_http_removes_only_papers_of_the_named_sources(ingest_setup):
    writer, root, _ = ingest_setup
    (root / "a.jsonl").write_text(json.dumps(ROWS[0]))  # two of a.jsonl's papers are gone
    with TestClient(create_app(writer, warm=False)) as c:
        r = _post(c, {"paths": ["a.jsonl"], "prune": True})
        assert r.status_code == 200, r.text
        assert (r.json()["removed"], r.json()["papers"]) == (2, 2), "b.jsonl's paper must survive"
        titles = {h["title"] for h in c.post("/v1/search", json={"query": "quantum sourdough fermentation", "k": 5},
                                              headers=AUTH).json()["hits"]}
        assert OTHER[0]["title"] in titles


def test_errors_never_quote_the_file(ingest_setup):
    writer, root, _ = ingest_setup
    (root / "c.csv").write_text("title,SECRET-CONTENT-COLUMN\nA paper,no abstract\n")
    (root / "d.txt").write_text("Daily Papers\n\nSECRET-CONTENT-TITLE of a paper\n\n  • 3 authors\n")
    with TestClient(create_app(writer, warm=False)) as c:
        for name in ("c.csv", "d.txt"):
            r = _post(c, {"paths": [name]})
            assert r.status_code == 400 and name in r.json()["error"]["message"]
            assert "secret" not in r.text.lower(), r.text


def test_uploaded_records_and_files_are_ingested(ingest_setup):
    writer, _, _ = ingest_setup
    new = {"title": "Lighthouse Retrieval: Beacons for Dense Passage Search",
           "abstract": "Beacon vectors guide dense passage search and halve its latency."}
    upload = json.dumps({"title": "Tidal Attention for Long Documents",
                         "abstract": "Tidal attention ebbs and flows over long documents to save memory."})
    with TestClient(create_app(writer, warm=False)) as c:
        r = _post(c, {"records": [new], "source": "mine.jsonl"})
        assert r.status_code == 200 and r.json()["added"] == 1, r.text
        r = c.post("/v1/ingest", files={"files": ("../../etc/up.jsonl", upload.encode(), "application/json")},
                   headers=AUTH)
        assert r.status_code == 200 and r.json()["added"] == 1, r.text
        hits = c.post("/v1/search", json={"query": "tidal attention long documents", "k": 1}, headers=AUTH).json()["hits"]
        assert hits[0]["title"] == "Tidal Attention for Long Documents" and hits[0]["sources"] == ["up.jsonl"]
        assert c.post("/v1/ingest", json={"records": [{"title": "x"}]}, headers=AUTH).status_code == 400
        assert c.post("/v1/ingest", json={"records": [new]}).status_code == 401


# --- questions ---------------------------------------------------------------------------------------------
def test_lone_surrogate_in_a_question_is_a_one_line_400(client):
    for path, raw in [("/v1/ask", b'{"question": "What is CodeT5? \\ud800"}'),
                      ("/v1/search", b'{"query": "\\udfff CodeT5"}'),
                      ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud800"}]}'),
                      ("/v1/chat/completions", b'{"stream": true, "messages": [{"role": "user", "content": "\\ud800"}]}')]:
        r = client.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        message = r.json()["error"]["message"]
        assert "surrogate" in message and "\n" not in message


def test_ten_thousand_message_conversation_with_a_short_last_message_is_answered(client):
    messages = [{"role": "user", "content": TOWER_Q}, {"role": "assistant", "content": "It balances both."}]
    for i in range(4999):  # short follow-ups: each is condensed with the one before
        messages += [{"role": "user", "content": f"and part {i}?"}, {"role": "assistant", "content": "It says more."}]
    messages[-1] = {"role": "user", "content": TOWER_Q}  # 10,000 messages, the last a real question
    t0 = time.monotonic()
    r = client.post("/v1/chat/completions", json={"messages": messages})
    assert r.status_code == 200, r.text[:300]
    assert "Tower+" in " ".join(c["title"] for c in r.json()["citations"])
    messages[-1] = {"role": "user", "content": "and the results?"}  # a short follow-up is condensed, not refused
    r = client.post("/v1/chat/completions", json={"messages": messages})
    assert r.status_code == 200, r.text[:300]
    assert time.monotonic() - t0 < 30


def test_long_chain_of_short_follow_ups_in_one_session(engine):
    from rag import Engine

    tight = Engine(engine.settings.model_copy(update={"max_question_chars": 200}),
                   store=engine.store, embedder=engine.embedder, bm25=engine.bm25)
    session = tight.chat()
    session.ask(TOWER_Q)
    for i in range(25):  # each short follow-up carries the previous question along
        answer = session.ask(f"and part {i}?")
        assert len(answer.standalone_question) <= 200
