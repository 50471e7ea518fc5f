"""Plumbing shared by the benchmark steps: child-process environments, percentiles, memory, the load line."""

from __future__ import annotations

import os
import socket
import statistics
import sys
from pathlib import Path

from rag.config import PROJECT_ROOT, Settings

OUT_DIR = PROJECT_ROOT / "out" / "bench"


def rag_command() -> list[str]:
    """The ``rag`` CLI of this interpreter (a child process must use the same install)."""
    script = Path(sys.executable).with_name("rag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rag.cli"]


def child_env(settings: Settings, index_dir: Path, collection: str, chroma_port: int | None = None) -> dict[str, str]:
    """Environment of a child process that opens ``index_dir`` embedded, in extractive mode; or, with
    ``chroma_port``, the Chroma server on that loopback port (the BM25 copy stays in ``index_dir``).

    Every other ``RAG_*`` variable of the caller is dropped, so a user's settings cannot make one size
    differ from another.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    if chroma_port is not None:
        env.update(RAG_CHROMA_PORT=str(chroma_port), RAG_CHROMA_SSL="false")
    env.update(RAG_INDEX_DIR=str(index_dir), RAG_COLLECTION=collection, RAG_LLM="extractive",
               RAG_CHROMA_HOST="127.0.0.1" if chroma_port is not None else "",
               RAG_EMBED_MODEL=settings.embed_model, RAG_EMBED_BACKEND=settings.embed_backend,
               RAG_MODEL_CACHE_DIR=str(settings.model_cache_dir), RAG_EMBED_BATCH_SIZE=str(settings.embed_batch_size))
    return env


def bench_settings(settings: Settings, index_dir: Path, collection: str) -> Settings:
    """The user's settings on a private embedded index, answering extractively."""
    return settings.model_copy(update={"index_dir": index_dir, "collection": collection, "chroma_host": "",
                                       "llm": "extractive"})


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def load_line() -> str:
    """The machine may be shared: every figure is printed beside the load it was measured under."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def say(text: str, as_json: bool) -> None:
    """Progress lines go to stderr when stdout carries the JSON result."""
    print(text, file=sys.stderr if as_json else sys.stdout, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Peak resident memory (``VmHWM``) of a live process, in MB; or another size line of its
    ``/proc/PID/status`` (``VmRSS``: the current one; ``RssFile``: its part in mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
