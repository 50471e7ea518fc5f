"""A Chroma server (``chroma run``) serving an index directory the benchmark built, for the server probe.

Why: at 1,000,000 papers an embedded Chroma holds the whole HNSW index (1.46 GB of float32 vectors) in
the search process, so that process cannot stay under 2 GB. With a server the index lives in the
server's process; the benchmark measures both processes, side by side with the embedded figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from rag.bench.common import free_port, peak_rss_mb

HOST = "127.0.0.1"


def chroma_command() -> list[str]:
    """The ``chroma`` CLI of this interpreter's chromadb (the server a user runs)."""
    beside = Path(sys.executable).with_name("chroma")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("chroma")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"]


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """End a server started with ``start_new_session=True`` and everything it spawned: TERM, then KILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


class ChromaServer:
    """``chroma run --path INDEX_DIR/chroma`` on a free loopback port, in its own process group.

    A context manager: the server is stopped (and its port freed) when the block ends, whatever happened.
    """

    def __init__(self, index_dir: Path, timeout: float = 600) -> None:  # opening a large index takes a while
        self.path, self.timeout = index_dir / "chroma", timeout
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the server runs

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ChromaServer:
        command = [*chroma_command(), "run", "--path", str(self.path), "--host", HOST, "--port", str(self.port)]
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self._tail()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"chroma run did not answer within {self.timeout:.0f} s: {self._tail()}")

    def peak_rss_mb(self) -> float:
        """Peak resident memory (``VmHWM``) of the server process so far (one process: the Rust server
        runs inside the ``chroma`` CLI's Python process)."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"the Chroma server is not running: {self._tail()}")
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
        self.proc = None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        self._log.close()

    def _tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-1500:].decode(errors="replace")
