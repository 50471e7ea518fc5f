"""Building and checking the index: ``rag ingest``, ``rag stats``, ``rag doctor`` and the UI's ``rag feedback``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.base import JsonOpt, echo_json, open_engine


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: data/corpus/).")] = None,
    prune: Annotated[bool, typer.Option(help="Remove papers no longer in the given sources.")] = False,
    rebuild: Annotated[bool, typer.Option(help="Repair: rebuild BM25 and the sentence cache; a damaged Chroma "
                                               "store is moved aside and re-created from the given sources.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="serial (default) | ray: embed on Ray actors.")] = "serial",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Ray embedding actors (--engine ray).")] = 2,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster, e.g. ray://head:10001 "
                                                "(default: RAY_ADDRESS, else a local Ray).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Parse, deduplicate, embed and index papers (incremental: unchanged papers are skipped)."""
    report = open_engine().ingest(paths or None, prune=prune, progress=not as_json and sys.stderr.isatty(),
                                  rebuild=rebuild, engine=engine, workers=workers, address=address)
    data = {k: report.to_dict()[k] for k in ("added", "updated", "unchanged", "removed", "papers")}
    if as_json:
        echo_json(data)
        return
    typer.echo(
        f"{data['papers']} papers indexed ({report.chunks} chunks): {data['added']} added, "
        f"{data['updated']} updated, {data['unchanged']} unchanged, {data['removed']} removed "
        f"in {report.seconds:.1f}s"
    )


def feedback(as_json: JsonOpt = False) -> None:
    """Thumbs up/down given in the web UI, with the question, answer and citations judged."""
    engine = open_engine()
    entries = engine.feedback()
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False))
        return
    if not entries:
        typer.echo(f"No feedback yet (it is stored in {engine.settings.index_dir / 'feedback.jsonl'}).")
        return
    for entry in entries:
        mark = "+" if entry.get("rating") == "up" else "-"
        typer.echo(f"{mark} {entry.get('time', '')}  {entry.get('question', '')}")
    ups = sum(e.get("rating") == "up" for e in entries)
    typer.echo(f"{ups} up, {len(entries) - ups} down")


def stats(as_json: JsonOpt = False) -> None:
    """Index facts: papers, chunks, source files, location, embedding model."""
    data = open_engine().stats()
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key:>12}: {', '.join(value) if isinstance(value, list) else value}")


def doctor(as_json: JsonOpt = False) -> None:
    """Check the index: Chroma opens, a vector search and a BM25 search answer, the sentence cache reads."""
    checks = open_engine().doctor()
    healthy = all(ok for _, ok, _ in checks)
    if as_json:
        echo_json([{"check": n, "ok": ok, "detail": d} for n, ok, d in checks])
    else:
        for name, ok, detail in checks:
            typer.secho(f"{'ok  ' if ok else 'FAIL'} {name:>15}: {detail}", fg=None if ok else typer.colors.RED)
        if not healthy:
            typer.echo("repair: rag ingest --rebuild", err=True)
    if not healthy:
        raise typer.Exit(1)
