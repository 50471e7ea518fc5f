"""Measurements taken in fresh processes: search latency and memory, cold start, the server's memory.

A new process per figure, because what a user feels is a process that opened the index itself: the
HNSW graph and the BM25 matrix loaded from disk, nothing left warm by the benchmark's own work.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rag.bench.common import child_env, free_port, peak_rss_mb, percentiles, rag_command
from rag.bench.server import ChromaServer
from rag.config import RetrieverMode, Settings
from rag.text import split_sentences


def queries_for(paths: list[Path], n: int = 60, seed: int = 1) -> list[str]:
    """Distinct short queries cut from real abstract sentences (no two alike, so no cache can help)."""
    from rag.ingest.parse import load_corpus

    papers, _ = load_corpus(paths)
    sentences = sorted({s for p in papers for s in split_sentences(p.abstract)})
    rng = random.Random(seed)
    chosen = rng.sample(sentences, k=min(n, len(sentences)))
    return [" ".join(s.split()[:rng.randint(5, 10)]) for s in chosen]


def probe(queries: list[str], k: int = 10, warmup: int = 5, retriever: RetrieverMode = "hybrid") -> dict:
    """Run in a child: warm search latency over ``queries``, this process's peak RSS (``VmHWM``) and its
    resident memory once warm (``VmRSS`` after the searches: the steady state the peak is compared with),
    with the part of it that is file pages (``RssFile``: memory-mapped index files, reclaimable)."""
    from rag.engine import Engine

    engine = Engine.from_env()
    for q in queries[:warmup]:
        engine.search(q + " warm", k=k, retriever=retriever)
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        engine.search(q, k=k, retriever=retriever)
        ms.append((time.perf_counter() - t0) * 1000)
    pid = os.getpid()
    return {**percentiles(ms), "peak_rss_mb": peak_rss_mb(pid), "rss_mb": peak_rss_mb(pid, "VmRSS"),
            "rss_file_mb": peak_rss_mb(pid, "RssFile"), "queries": len(ms), "retriever": retriever,
            "chroma": engine.store.location}


def run_probe(settings: Settings, index_dir: Path, collection: str, queries: list[str], workdir: Path,
              retriever: RetrieverMode = "hybrid", chroma_port: int | None = None) -> dict:
    """:func:`probe` in a new process on ``index_dir`` (``python -m rag.bench probe QUERIES.json``), embedded,
    or through the Chroma server on ``chroma_port``."""
    qfile = workdir / "queries.json"
    qfile.write_text(json.dumps(queries))
    out = subprocess.run([sys.executable, "-m", "rag.bench", "probe", str(qfile), retriever],
                         env=child_env(settings, index_dir, collection, chroma_port), capture_output=True, text=True,
                         timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"latency probe failed: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_server_probe(settings: Settings, index_dir: Path, collection: str, queries: list[str], workdir: Path,
                     retriever: RetrieverMode = "hybrid") -> dict:
    """:func:`run_probe` against ``chroma run`` serving ``index_dir``, and the server's own peak RSS.

    The BM25 copy of ``index_dir`` is the one the embedded probe used (same collection revision), so the
    two setups differ only in where Chroma runs.
    """
    with ChromaServer(index_dir) as server:
        out = run_probe(settings, index_dir, collection, queries, workdir, retriever, chroma_port=server.port)
        if out["chroma"] != server.url:  # a figure of the wrong setup must not pass for this one
            raise RuntimeError(f"the server probe searched {out['chroma']}, not the server at {server.url}")
        return {**out, "chroma_peak_rss_mb": server.peak_rss_mb()}


def cold_start(settings: Settings, index_dir: Path, runs: int = 3) -> float:
    """Median wall time of ``rag search "x"`` in a new process (model, Chroma and BM25 loaded from disk)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([*rag_command(), "search", "x", "--json"], env=child_env(settings, index_dir, "bench"),
                             capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise RuntimeError(f"rag search failed: {out.stderr.strip()[-500:]}")
    return round(statistics.median(times), 2)


def _wait_until_up(proc: subprocess.Popen, base: str, what: str, timeout: float = 180) -> str | None:
    """None once ``base`` answers HTTP (any status), or why it never did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return f"{what} exited: {proc.stderr.read()[-300:] if proc.stderr else ''}"
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            return None
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status means the server is up
                return None
            time.sleep(0.5)
    return f"{what} did not answer within {timeout:.0f} s"


def serve_rss(settings: Settings, index_dir: Path, queries: list[str]) -> tuple[float, str]:
    """Peak RSS of ``rag serve`` after a page load and a few searches; falls back to ``rag api``."""
    if importlib.util.find_spec("ui.app") is not None:
        command, what = "serve", "rag serve"
    elif importlib.util.find_spec("rag.api") is not None:
        command, what = "api", "rag api (ui/app.py not available)"
    else:
        return 0.0, "no server available"
    port = free_port()
    proc = subprocess.Popen([*rag_command(), command, "--host", "127.0.0.1", "--port", str(port)],
                            env=child_env(settings, index_dir, "bench"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        failure = _wait_until_up(proc, base, what)
        if failure:
            return 0.0, failure
        auth = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
        searched = 0
        for q in queries[:10]:  # exercise the engine through the HTTP API when it exists
            req = urllib.request.Request(base + "/v1/search", data=json.dumps({"query": q, "k": 10}).encode(),
                                         headers={"Content-Type": "application/json", **auth})
            try:
                urllib.request.urlopen(req, timeout=60).read()
                searched += 1
            except OSError:
                break
        return peak_rss_mb(proc.pid), what + ("" if searched else " (page load only, no /v1/search)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
