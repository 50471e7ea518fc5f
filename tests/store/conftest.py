"""A real Chroma server (``tests.servers.ChromaServer``) on a free loopback port, started once per test session.

The server is the same binary a user runs (`chroma run --path DIR`); tests stop and restart it to
check that the engine reports an unreachable server in one line and recovers when it is back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS
from tests.servers import ChromaServer, free_port


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(root / "db", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> tuple[Path, list[str]]:
    """The first 20 bundled papers as one JSONL file, and their titles."""
    papers, _ = load_corpus([CORPUS])
    papers = papers[:20]
    path = tmp_path_factory.mktemp("small-corpus") / "papers.jsonl"
    path.write_text("\n".join(json.dumps({"title": p.title, "abstract": p.abstract, "date": p.date.isoformat() if p.date else ""})
                              for p in papers) + "\n", encoding="utf-8")
    return path, [p.title for p in papers]
