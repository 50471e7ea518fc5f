"""One ``rag bench`` run: every step in order, the result saved as it grows, then printed and plotted.

A 1M-paper size takes the better part of an hour on two cores, so the result so far is written to
``bench.partial.json`` after every step, and one size that fails is recorded in the notes instead of
losing the figures of the others.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from rag.bench.anchor import bench_ingest
from rag.bench.common import OUT_DIR, load_line, say
from rag.bench.probes import cold_start, queries_for, run_probe, run_server_probe, serve_rss
from rag.bench.report import plot, table, targets
from rag.bench.synthetic import NOTE, build_synthetic
from rag.config import Settings


def _save(path: Path | None, result: dict, notes: list[str]) -> None:
    if path is not None:
        path.write_text(json.dumps({**result, "notes": notes}, indent=2) + "\n")


def _probe_both(settings: Settings, size: int, index_dir: Path, collection: str, queries: list[str], workdir: Path,
                result: dict, notes: list[str], as_json: bool, with_server: bool) -> dict:
    """The embedded probe, then (``with_server``) the same queries through ``chroma run`` on the same index dir."""
    probe_out = run_probe(settings, index_dir, collection, queries, workdir)
    notes.append(f"{size:,} papers, embedded: search process {probe_out['rss_mb']} MB resident once warm "
                 f"({probe_out['rss_file_mb']} MB of it mapped files), {probe_out['peak_rss_mb']} MB peak")
    if with_server:
        say(f"bench: search latency at {size:,} papers through a Chroma server ...", as_json)
        srv = run_server_probe(settings, index_dir, collection, queries, workdir)
        result.setdefault("server", {})[str(size)] = {
            "p50_ms": srv["p50_ms"], "p95_ms": srv["p95_ms"], "search_peak_rss_mb": srv["peak_rss_mb"],
            "chroma_peak_rss_mb": srv["chroma_peak_rss_mb"]}
        notes.append(f"{size:,} papers, Chroma server: search process {srv['rss_mb']} MB resident once warm "
                     f"({srv['rss_file_mb']} MB of it mapped files), "
                     f"{srv['peak_rss_mb']} MB peak; `chroma run` {srv['chroma_peak_rss_mb']} MB peak; {load_line()}")
    return probe_out


def _measure_size(settings: Settings, size: int, ingest_dir: Path, real_papers: int, queries: list[str],
                  workdir: Path, result: dict, notes: list[str], as_json: bool, with_server: bool = True,
                  cache: Path | None = None) -> None:
    """Search latency and memory at ``size`` papers: the real index, or a synthetic one built for it;
    embedded, and through a Chroma server serving the same index dir."""
    if size == real_papers:
        say(f"bench: search latency at {size} papers (the real index) ...", as_json)
        probe_out = _probe_both(settings, size, ingest_dir, "bench", queries, workdir, result, notes, as_json, with_server)
    else:
        say(f"bench: building a synthetic index of {size:,} papers ({load_line()}) ...", as_json)
        index_dir, info = build_synthetic(settings, ingest_dir, size, workdir, progress=True, cache=cache)
        result.setdefault("insert_s", {})[str(size)] = info["insert_s"]
        result.setdefault("bm25_build_s", {})[str(size)] = info["bm25_build_s"]
        insert = ("Chroma insert" if "journal_from_chroma_s" in info else "Chroma insert with the BM25 journal following")
        kept = (f" (the insert as measured when the kept index in {index_dir} was built, {info.get('built', '?')}; "
                "its BM25 index scored again now)") if info.get("reused") else ""
        notes.append(f"synthetic {size:,}: built from {info['parents']} real papers in batches of {info['batch']}; "
                     f"{insert} {info['insert_s']} s, BM25 build (scoring from the journal) {info['bm25_build_s']} s"
                     f"{kept}; {load_line()}")
        if "journal_from_chroma_s" in info:
            notes.append(f"synthetic {size:,}: its journal was filled from Chroma in {info['journal_from_chroma_s']} s "
                         "(every chunk read back and tokenised; kept from an index built without one)")
        say(f"bench: search latency at {size:,} papers ...", as_json)
        try:
            probe_out = _probe_both(settings, size, index_dir, "synthetic", queries, workdir, result, notes, as_json,
                                    with_server)
        finally:
            if cache is None:
                shutil.rmtree(index_dir, ignore_errors=True)
    result["query"][str(size)] = {"p50_ms": probe_out["p50_ms"], "p95_ms": probe_out["p95_ms"]}
    result["peak_rss_mb"][str(size)] = probe_out["peak_rss_mb"]


def run(settings: Settings, sizes: list[int], paths: list[Path] | None = None, workdir: Path | None = None,
        with_cold_start: bool = True, with_serve: bool = True, as_json: bool = False,
        checkpoint: Path | None = None, with_server: bool = True, cache: Path | None = None) -> tuple[dict, list[str]]:
    """All measurements; returns (result in the documented JSON shape, notes). ``with_server``: every size
    is also measured through a Chroma server (``result["server"]``). ``cache``: keep synthetic indexes
    there and reuse them on the next run (``rag bench --keep DIR``)."""
    paths = [Path(p) for p in (paths or [settings.corpus_dir])]
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-")) if own else Path(workdir)
    notes = [f"start: {load_line()}"]
    try:
        queries = queries_for(paths)
        say(f"bench: ingest of {', '.join(map(str, paths))} beside plain encode and llama-index defaults ...", as_json)
        ingest, ingest_notes, ingest_dir = bench_ingest(settings, paths, workdir, queries)
        notes += ingest_notes
        result: dict = {"ingest": ingest, "query": {}, "cold_start_s": None, "peak_rss_mb": {}}
        _save(checkpoint, result, notes)
        for size in sizes:
            try:
                _measure_size(settings, size, ingest_dir, ingest["papers"], queries, workdir, result, notes, as_json,
                              with_server, cache)
            except Exception as exc:  # a benchmark reports a failed size and goes on with the others
                notes.append(f"size {size:,} failed: {type(exc).__name__}: {str(exc)[-500:]}")
                say(notes[-1], as_json)
            _save(checkpoint, result, notes)
        if any(s != ingest["papers"] for s in sizes):
            notes.append(NOTE)
        if with_cold_start:
            say("bench: cold start ...", as_json)
            result["cold_start_s"] = cold_start(settings, ingest_dir)
        if with_serve:
            say("bench: peak memory of the server ...", as_json)
            mb, what = serve_rss(settings, ingest_dir, queries)
            result["peak_rss_mb"]["serve"] = mb
            notes.append(f"serve memory measured on: {what}")
        notes.append(f"end: {load_line()}")
        order = sorted(result["peak_rss_mb"], key=lambda key: (key != "serve", int(key) if key.isdigit() else 0))
        result["peak_rss_mb"] = {key: result["peak_rss_mb"][key] for key in order}
        result["targets"] = targets(result)
        return result, notes
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def main(engine, sizes: list[int], as_json: bool = False, out_dir: Path | None = None, paths: list[Path] | None = None,
         with_cold_start: bool = True, with_serve: bool = True, with_server: bool = True, keep: Path | None = None) -> dict:
    """Entry point of ``rag bench``: measure, print (table or JSON), save JSON, table and plot in ``out_dir``."""
    out = Path(out_dir or OUT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "bench.partial.json"
    result, notes = run(engine.settings, sizes or [410], paths=paths, with_cold_start=with_cold_start,
                        with_serve=with_serve, as_json=as_json, checkpoint=partial, with_server=with_server,
                        cache=keep)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    partial.unlink(missing_ok=True)
    png = plot(result, out / "latency.png")
    if png is None:
        notes.append("no latency plot: matplotlib is not installed")
    text = table(result) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    (out / "bench.md").write_text(text + "\n")
    saved = ", ".join(str(p) for p in (out / "bench.json", out / "bench.md", png) if p)
    if as_json:
        print(json.dumps(result))
        say("\n".join(notes) + f"\nsaved {saved}", True)
    else:
        print(text)
        print(f"\nsaved {saved}")
    return result
