"""``rag bench``: the speed figures of the README, measured in one run on this machine.

* Ingest of the bundled corpus into a fresh temporary index, beside a plain sentence-transformers
  ``encode`` of exactly the texts the pipeline embeds (title + chunk, same batch size), and the ratio.
* Re-ingest of the unchanged corpus in a new process (what a user types a second time).
* Hybrid search latency (warm, query embedding included) at each index size. Sizes other than the
  corpus use synthetic papers: texts recombine real abstract sentences and their vectors are the
  averaged real sentence vectors plus noise, inserted directly, because embedding 100k texts on two
  cores takes hours. BM25 is built over the synthetic texts by the engine's own code.
  Each size is measured in a fresh process, which also reports its peak resident memory.
* Cold start: wall time of ``rag search "x"`` in a new process.
* Peak resident memory of ``rag serve`` (or ``rag api`` / a search process when the UI is absent).

Figures, not tests: the machine may be shared, so the load average is printed beside them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rag.config import PROJECT_ROOT, Settings

OUT_DIR = PROJECT_ROOT / "out" / "bench"
SYNTHETIC_NOTE = ("sizes other than the corpus use synthetic papers: real abstract sentences recombined, vectors "
                  "inserted directly (mean of the source papers' real vectors + noise), because embedding 100k texts "
                  "on 2 cores takes hours")


# --- helpers ---------------------------------------------------------------------------------------
def _rag_command() -> list[str]:
    script = Path(sys.executable).with_name("rag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rag.cli"]


def _env(settings: Settings, index_dir: Path, collection: str) -> dict[str, str]:
    """Environment of a child process that opens ``index_dir`` embedded, in extractive mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_INDEX_DIR=str(index_dir), RAG_COLLECTION=collection, RAG_CHROMA_HOST="", RAG_LLM="extractive",
               RAG_EMBED_MODEL=settings.embed_model, RAG_EMBED_BACKEND=settings.embed_backend,
               RAG_MODEL_CACHE_DIR=str(settings.model_cache_dir), RAG_EMBED_BATCH_SIZE=str(settings.embed_batch_size))
    return env


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def _say(text: str, as_json: bool) -> None:
    print(text, file=sys.stderr if as_json else sys.stdout, flush=True)


def _bench_settings(settings: Settings, index_dir: Path, collection: str) -> Settings:
    return settings.model_copy(update={"index_dir": index_dir, "collection": collection, "chroma_host": "",
                                       "llm": "extractive"})


def corpus_texts(settings: Settings, paths: list[Path]) -> tuple[int, list[str]]:
    """(papers, texts): exactly the title + chunk texts the ingest pipeline embeds."""
    from rag.embed import Embedder
    from rag.ingest.parse import load_corpus
    from rag.ingest.pipeline import chunk_paper

    papers, _ = load_corpus(paths)
    embedder = Embedder(settings)
    return len(papers), [f"{p.title}\n{c}" for p in papers for c in chunk_paper(p, embedder)]


# --- ingest ----------------------------------------------------------------------------------------
def bench_ingest(settings: Settings, paths: list[Path], workdir: Path) -> tuple[dict, Path]:
    """Ingest into a fresh index vs a plain SentenceTransformer encode of the same texts."""
    from rag.engine import Engine

    index_dir = workdir / "ingest"
    engine = Engine(_bench_settings(settings, index_dir, "bench"))
    n_papers, texts = corpus_texts(engine.settings, paths)
    from sentence_transformers import SentenceTransformer  # import cost paid once, outside both timings

    def raw_encode() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        model = SentenceTransformer(str(engine.embedder.path), device=settings.embed_device)
        model.encode(texts, batch_size=settings.embed_batch_size)
        return time.perf_counter() - t0, time.process_time() - c0

    resolved = engine.embedder.backend  # a first-time ONNX export happens here, outside the timing
    ingest_backend = "onnx" if settings.embed_backend == "onnx" else "torch"  # see Embedder.embed_texts
    backend = f"{settings.embed_backend} ({resolved} for queries, {ingest_backend} for ingest batches)"
    # The raw encode runs before and after the ingest and the two are averaged: on a shared machine the
    # load drifts over minutes, and timing only one side first would bias the ratio.
    raw1, raw1_cpu = raw_encode()
    t0, c0 = time.perf_counter(), time.process_time()
    report = engine.ingest(paths)
    ingest_s, ingest_cpu = time.perf_counter() - t0, time.process_time() - c0
    raw2, raw2_cpu = raw_encode()
    raw_s, raw_cpu = (raw1 + raw2) / 2, (raw1_cpu + raw2_cpu) / 2

    t0 = time.perf_counter()
    out = subprocess.run([*_rag_command(), "ingest", *map(str, paths), "--json"], env=_env(settings, index_dir, "bench"),
                         capture_output=True, text=True, timeout=600)
    reingest_s = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"re-ingest failed: {out.stderr.strip()[-500:]}")
    again = json.loads(out.stdout)
    if again.get("added") or again.get("updated"):
        raise RuntimeError(f"re-ingest of an unchanged corpus changed the index: {again}")
    return {
        "papers": report.papers or n_papers,
        "seconds": round(ingest_s, 2),
        "raw_encode_seconds": round(raw_s, 2),
        "ratio": round(ingest_s / raw_s, 3),
        "reingest_seconds": round(reingest_s, 2),
        "_chunks": len(texts),
        "_backend": backend,
        "_detail": f"raw encode {raw1:.1f} s before and {raw2:.1f} s after the ingest; CPU seconds: ingest "
                   f"{ingest_cpu:.1f}, raw encode {raw_cpu:.1f} (ratio {ingest_cpu / raw_cpu:.2f})",
    }, index_dir


# --- synthetic index -------------------------------------------------------------------------------
def build_synthetic(settings: Settings, source_index: Path, size: int, workdir: Path, seed: int = 0,
                    source_collection: str = "bench") -> tuple[Path, dict]:
    """An index of ``size`` synthetic papers made from the real index at ``source_index``.

    Each synthetic paper takes 1-3 sentences from each of 2-3 real papers; its vector is the mean of
    those papers' real vectors plus a little noise, so text and vector agree and the nearest-neighbour
    structure stays realistic. Nothing is embedded (that would take hours at 100k on two cores).
    """
    import numpy as np

    from rag.answer.extractive import split_sentences
    from rag.engine import Engine

    real = Engine(_bench_settings(settings, source_index, source_collection)).store.collection.get(
        include=["embeddings", "metadatas"], where={"chunk": 0})
    sources = [(np.asarray(v, dtype=np.float32), split_sentences(str(m.get("abstract", ""))) or [str(m.get("abstract", ""))])
               for v, m in zip(real["embeddings"], real["metadatas"], strict=True)]
    if not sources:
        raise RuntimeError(f"no papers in collection {source_collection!r} at {source_index} to build synthetic papers from")
    engine = Engine(_bench_settings(settings, workdir / f"synthetic-{size}", "synthetic"))
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    store = engine.store
    step = min(store.max_batch_size(), 5000)
    t0 = time.perf_counter()
    store.bump_revision()
    for start in range(0, size, step):
        n = min(step, size - start)
        ids, docs, metas, embs = [], [], [], []
        for i in range(start, start + n):
            parents = pick.sample(sources, k=min(len(sources), pick.randint(2, 3)))
            sentences = [s for _, sents in parents for s in pick.sample(sents, k=min(len(sents), pick.randint(1, 3)))]
            abstract = " ".join(sentences)
            title = f"Synthetic {i}: " + " ".join(sentences[0].split()[:8])
            v = np.mean([vec for vec, _ in parents], axis=0) + rng.normal(0, 0.02, len(parents[0][0])).astype(np.float32)
            embs.append(v / np.linalg.norm(v))
            pid = f"syn{i:07d}"
            ids.append(f"{pid}:0")
            docs.append(f"{title}\n{abstract}")
            metas.append({"paper_id": pid, "title": title, "date": "2025-01-01", "date_num": 20250101, "authors": -1,
                          "upvotes": -1, "url": "", "sources": "synthetic", "abstract": abstract, "hash": pid,
                          "chunk": 0, "n_chunks": 1})
        store.collection.add(ids=ids, documents=docs, metadatas=metas, embeddings=np.stack(embs))
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.bm25.refresh()  # the engine's own BM25 build from Chroma, persisted beside it
    bm25_s = time.perf_counter() - t0
    return engine.settings.index_dir, {"parents": len(sources), "insert_s": round(insert_s, 1), "bm25_build_s": round(bm25_s, 1)}


# --- probes in fresh processes ---------------------------------------------------------------------
def queries_for(paths: list[Path], n: int = 60, seed: int = 1) -> list[str]:
    """Distinct short queries cut from real abstract sentences (no two alike, so no cache can help)."""
    from rag.answer.extractive import split_sentences
    from rag.ingest.parse import load_corpus

    papers, _ = load_corpus(paths)
    sentences = sorted({s for p in papers for s in split_sentences(p.abstract)})
    rng = random.Random(seed)
    chosen = rng.sample(sentences, k=min(n, len(sentences)))
    return [" ".join(s.split()[:rng.randint(5, 10)]) for s in chosen]


def probe(queries: list[str], k: int = 10, warmup: int = 5) -> dict:
    """Run in a child: warm hybrid search latency over ``queries`` and this process's peak RSS."""
    from rag.engine import Engine

    engine = Engine.from_env()
    for q in queries[:warmup]:
        engine.search(q + " warm", k=k)
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        engine.search(q, k=k, retriever="hybrid")
        ms.append((time.perf_counter() - t0) * 1000)
    return {**_percentiles(ms), "peak_rss_mb": _vm_hwm_mb(os.getpid()),
            "queries": len(ms)}


def run_probe(settings: Settings, index_dir: Path, collection: str, queries: list[str], workdir: Path) -> dict:
    qfile = workdir / "queries.json"
    qfile.write_text(json.dumps(queries))
    out = subprocess.run([sys.executable, "-m", "rag.bench", "probe", str(qfile)], env=_env(settings, index_dir, collection),
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"latency probe failed: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start(settings: Settings, index_dir: Path, runs: int = 3) -> float:
    """Median wall time of ``rag search "x"`` in a new process (model, Chroma and BM25 loaded from disk)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([*_rag_command(), "search", "x", "--json"], env=_env(settings, index_dir, "bench"),
                             capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise RuntimeError(f"rag search failed: {out.stderr.strip()[-500:]}")
    return round(statistics.median(times), 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def serve_rss(settings: Settings, index_dir: Path, queries: list[str]) -> tuple[float, str]:
    """Peak RSS of ``rag serve`` after a page load and a few searches; falls back to ``rag api``."""
    import importlib.util

    if importlib.util.find_spec("ui.app") is not None:
        command, what = "serve", "rag serve"
    elif importlib.util.find_spec("rag.api") is not None:
        command, what = "api", "rag api (ui/app.py not available)"
    else:
        return 0.0, "no server available"
    port = _free_port()
    env = _env(settings, index_dir, "bench")
    proc = subprocess.Popen([*_rag_command(), command, "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while time.time() < deadline:
            if proc.poll() is not None:
                return 0.0, f"{what} exited: {proc.stderr.read()[-300:] if proc.stderr else ''}"
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP error status means the server is up
                    break
                time.sleep(0.5)
        searched = 0
        for q in queries[:10]:  # exercise the engine through the HTTP API when it exists
            req = urllib.request.Request(base + "/v1/search", data=json.dumps({"query": q, "k": 10}).encode(),
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {settings.api_token}"}
                                                     if settings.api_token else {})})
            try:
                urllib.request.urlopen(req, timeout=60).read()
                searched += 1
            except OSError:
                break
        return _vm_hwm_mb(proc.pid), what + ("" if searched else " (page load only, no /v1/search)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- report ----------------------------------------------------------------------------------------
def plot(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(result["query"], key=int)
    x = [int(s) for s in sizes]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [result["query"][s]["p50_ms"] for s in sizes], "o-", label="p50")
    ax.plot(x, [result["query"][s]["p95_ms"] for s in sizes], "s--", label="p95")
    ax.axhline(20, color="grey", lw=0.8, ls=":", label="target p50 at 410 (20 ms)")
    ax.axhline(60, color="red", lw=0.8, ls=":", label="target p50 at 100k (60 ms)")
    if len(x) > 1:
        ax.set_xscale("log")
    ax.set_xlabel("papers in the index")
    ax.set_ylabel("hybrid search latency (ms)")
    ax.set_title("paperchat: warm hybrid search, query embedding included")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def table(result: dict) -> str:
    ing = result["ingest"]
    rows = ["| figure | measured | target |", "| --- | --- | --- |",
            f"| ingest, {ing['papers']} papers | {ing['seconds']} s | |",
            f"| plain sentence-transformers encode, same texts | {ing['raw_encode_seconds']} s | |",
            f"| ingest / encode ratio | {ing['ratio']} | <= 1.15 |",
            f"| re-ingest unchanged (new process) | {ing['reingest_seconds']} s | < 3 s |"]
    for size, q in sorted(result["query"].items(), key=lambda kv: int(kv[0])):
        target = {410: " (p50 <= 20 ms)", 100000: " (p50 <= 60 ms)"}.get(int(size), "")
        rows.append(f"| search p50 / p95 at {int(size):,} papers | {q['p50_ms']} / {q['p95_ms']} ms | {target.strip(' ()')} |")
    if result.get("cold_start_s") is not None:
        rows.append(f"| cold start `rag search \"x\"` | {result['cold_start_s']} s | <= 4 s |")
    for key, mb in result["peak_rss_mb"].items():
        label = "rag serve" if key == "serve" else f"search process, {int(key):,} papers"
        rows.append(f"| peak RSS, {label} | {mb} MB | |")
    return "\n".join(rows)


def run(settings: Settings, sizes: list[int], paths: list[Path] | None = None, workdir: Path | None = None,
        with_cold_start: bool = True, with_serve: bool = True, as_json: bool = False) -> tuple[dict, list[str]]:
    """All measurements; returns (result in the documented JSON shape, notes)."""
    paths = [Path(p) for p in (paths or [settings.corpus_dir])]
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-")) if own else Path(workdir)
    notes = [f"start: {_load()}"]
    try:
        _say(f"bench: ingest of {', '.join(map(str, paths))} into a fresh index ...", as_json)
        ingest, ingest_dir = bench_ingest(settings, paths, workdir)
        extra = {k: ingest.pop(k) for k in list(ingest) if k.startswith("_")}
        notes.append(f"ingest: {extra['_chunks']} chunks embedded, embed backend {extra['_backend']}; "
                     f"raw encode: SentenceTransformer.encode(batch_size={settings.embed_batch_size}); {extra['_detail']}")
        queries = queries_for(paths)
        result: dict = {"ingest": ingest, "query": {}, "cold_start_s": None, "peak_rss_mb": {}}
        for size in sizes:
            if size == ingest["papers"]:
                _say(f"bench: search latency at {size} papers (the real index) ...", as_json)
                probe_out = run_probe(settings, ingest_dir, "bench", queries, workdir)
            else:
                _say(f"bench: building a synthetic index of {size:,} papers ...", as_json)
                index_dir, info = build_synthetic(settings, ingest_dir, size, workdir)
                notes.append(f"synthetic {size:,}: built from {info['parents']} real papers; Chroma insert "
                             f"{info['insert_s']} s, BM25 build {info['bm25_build_s']} s")
                _say(f"bench: search latency at {size:,} papers ...", as_json)
                probe_out = run_probe(settings, index_dir, "synthetic", queries, workdir)
                shutil.rmtree(index_dir, ignore_errors=True)
            result["query"][str(size)] = {"p50_ms": probe_out["p50_ms"], "p95_ms": probe_out["p95_ms"]}
            result["peak_rss_mb"][str(size)] = probe_out["peak_rss_mb"]
        if any(s != ingest["papers"] for s in sizes):
            notes.append(SYNTHETIC_NOTE)
        if with_cold_start:
            _say("bench: cold start ...", as_json)
            result["cold_start_s"] = cold_start(settings, ingest_dir)
        if with_serve:
            _say("bench: peak memory of the server ...", as_json)
            mb, what = serve_rss(settings, ingest_dir, queries)
            result["peak_rss_mb"]["serve"] = mb
            notes.append(f"serve memory measured on: {what}")
        notes.append(f"end: {_load()}")
        order = sorted(result["peak_rss_mb"], key=lambda key: (key != "serve", int(key) if key.isdigit() else 0))
        result["peak_rss_mb"] = {key: result["peak_rss_mb"][key] for key in order}
        return result, notes
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def main(engine, sizes: list[int], as_json: bool = False, out_dir: Path | None = None, paths: list[Path] | None = None,
         with_cold_start: bool = True, with_serve: bool = True) -> dict:
    """Entry point of ``rag bench``: measure, print (table or JSON), save JSON + plot in ``out_dir``."""
    result, notes = run(engine.settings, sizes or [410], paths=paths, with_cold_start=with_cold_start,
                        with_serve=with_serve, as_json=as_json)
    out = Path(out_dir or OUT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    png = plot(result, out / "latency.png")
    text = table(result) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    (out / "bench.md").write_text(text + "\n")
    if as_json:
        print(json.dumps(result))
        _say("\n".join(notes) + f"\nsaved {out / 'bench.json'} and {png}", True)
    else:
        print(text)
        print(f"\nsaved {out / 'bench.json'}, {out / 'bench.md'} and {png}")
    return result


if __name__ == "__main__":  # `python -m rag.bench probe QUERIES.json` (used by run_probe)
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        print(json.dumps(probe(json.loads(Path(sys.argv[2]).read_text()))))
    else:
        sys.exit("usage: python -m rag.bench probe QUERIES.json   (the benchmark itself is `rag bench`)")
