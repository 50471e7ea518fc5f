"""The engine against a real Chroma server (`chroma run`): ingest, search, ask, stats, outage, recovery.

One server per session (tests/store/conftest.py). BM25 stays local (``index_dir``), so every engine
here gets its own ``index_dir`` while sharing the server's collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Engine, IndexUnavailable
from tests.conftest import make_settings
from tests.servers import free_port

COLLECTION = "server_papers"


def server_settings(index_dir: Path, server, **overrides):
    return make_settings(index_dir, chroma_host="127.0.0.1", chroma_port=server.port, collection=COLLECTION,
                         llm="extractive", **overrides)


@pytest.fixture(scope="module")
def ingested(chroma_server, small_corpus, tmp_path_factory):
    """An engine whose chunks live on the server, with the ingest report of the first run."""
    path, _titles = small_corpus
    engine = Engine(server_settings(tmp_path_factory.mktemp("server-engine"), chroma_server))
    report = engine.ingest([path])
    return engine, report


def test_ingest_writes_every_paper_to_the_server(ingested, small_corpus):
    engine, report = ingested
    assert (report.added, report.papers) == (20, 20)
    again = engine.ingest([small_corpus[0]])
    assert (again.added, again.updated, again.unchanged, again.papers) == (0, 0, 20, 20)


def test_stats_name_the_server(ingested, chroma_server):
    engine, _ = ingested
    stats = engine.stats()
    assert stats["papers"] == 20
    assert stats["index_dir"] == chroma_server.url
    assert stats["sources"] == ["papers.jsonl"]


def test_search_finds_a_paper_by_its_title(ingested, small_corpus):
    engine, _ = ingested
    title = small_corpus[1][7]
    hits = engine.search(title, k=5)
    assert hits[0].title == title
    assert hits[0].dense > 0 and hits[0].bm25 > 0  # both halves of hybrid retrieval answered


def test_ask_cites_titles_stored_on_the_server(ingested, small_corpus):
    engine, _ = ingested
    title = small_corpus[1][3]
    answer = engine.ask(f"What does the paper '{title}' propose?")
    assert not answer.refused
    assert answer.citations and {c.title for c in answer.citations} <= set(small_corpus[1])


def test_a_second_client_sees_the_same_collection(ingested, chroma_server, small_corpus, tmp_path):
    """Another process/machine pointed at the server: no local files, BM25 rebuilt from the server."""
    other = Engine(server_settings(tmp_path / "other", chroma_server))
    assert other.stats()["papers"] == 20
    title = small_corpus[1][11]
    assert other.search(title, k=3)[0].title == title


def test_cli_uses_the_server_from_env(ingested, chroma_server, small_corpus, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(chroma_server.port), RAG_COLLECTION=COLLECTION,
               RAG_INDEX_DIR=str(tmp_path / "cli"))
    title = small_corpus[1][5]
    out = subprocess.run([sys.executable, "-m", "rag.cli", "search", title, "--k", "3", "--json"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["title"] == title


def test_unreachable_server_is_one_clear_line(tmp_path):
    closed = free_port()  # nothing listens there
    engine = Engine(make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=closed, llm="extractive"))
    with pytest.raises(IndexUnavailable) as err:
        engine.search("language models")
    message = str(err.value)
    assert "\n" not in message
    assert f"http://127.0.0.1:{closed}" in message and "chroma run" in message


def test_server_going_away_and_coming_back(ingested, chroma_server, small_corpus, tmp_path):
    """Stop the server under a live engine: one-line error (API and CLI); restart: the same engine works."""
    engine, _ = ingested
    title = small_corpus[1][2]
    assert engine.search(title, k=3)[0].title == title
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(chroma_server.port), RAG_COLLECTION=COLLECTION,
               RAG_INDEX_DIR=str(tmp_path / "cli"))
    chroma_server.stop()
    try:
        for _ in range(2):  # the first failure drops the cached client; the second reconnects and fails cleanly
            with pytest.raises(IndexUnavailable, match=r"Chroma server at http://127\.0\.0\.1:\d+ is unreachable"):
                engine.search(title, k=3)
        with pytest.raises(IndexUnavailable):
            engine.ask("What is new in retrieval?")
        out = subprocess.run([sys.executable, "-m", "rag.cli", "search", title, "--json"], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 1
        assert out.stderr.strip().count("\n") == 0 and "unreachable" in out.stderr and "Traceback" not in out.stderr
    finally:
        chroma_server.start()  # same port, same --path: the data must still be there
    assert engine.search(title, k=3)[0].title == title
    assert engine.stats()["papers"] == 20
