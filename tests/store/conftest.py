"""A real Chroma server (`chroma run`) on a free loopback port, started once per test session.

The server is the same binary a user runs (`chroma run --path DIR`); tests stop and restart it to
check that the engine reports an unreachable server in one line and recovers when it is back.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS

START_TIMEOUT = 120  # seconds: generous, CI machines may be busy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chroma_binary() -> str:
    found = Path(sys.executable).with_name("chroma")
    return str(found) if found.exists() else (shutil.which("chroma") or "chroma")


class ChromaServer:
    """`chroma run --path DIR --host 127.0.0.1 --port PORT` as a child process."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as resp:
                return any("heartbeat" in key for key in json.loads(resp.read()))
        except (OSError, ValueError):
            return False

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [chroma_binary(), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if self.alive():
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"chroma run did not answer within {START_TIMEOUT} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.proc = None
        deadline = time.time() + 30  # the port must be free before a restart binds it again
        while time.time() < deadline and self.alive():
            time.sleep(0.2)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(root / "db", free_port(), root / "chroma.log")
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
