"""The ``rag`` command line: a thin typer client of :class:`rag.Engine`.

Every command prints human output by default and the documented JSON shape with ``--json``.
Errors the user can act on (RagError) print one line and exit 1, never a stack trace.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from rag import offline

offline.apply()

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
KOpt = Annotated[int | None, typer.Option("--k", "-k", help="Number of papers (default RAG_TOP_K).")]
YearFrom = Annotated[int | None, typer.Option("--year-from", help="Only papers dated this year or later.")]
YearTo = Annotated[int | None, typer.Option("--year-to", help="Only papers dated this year or earlier.")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only papers from this corpus file.")]
LLMOpt = Annotated[str | None, typer.Option(
    "--llm", help="auto (openai when OPENAI_API_KEY/OPENAI_BASE_URL is set, else extractive) | openai | "
                  "local (SmolLM2, CPU) | extractive (quoted evidence, no LLM)")]


def _engine():
    from rag.engine import Engine

    return Engine.from_env()


def _fail(message: str) -> None:
    from rag.security import one_line

    typer.secho(f"error: {one_line(message, _settings())}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _settings():
    try:
        from rag.config import get_settings

        return get_settings()
    except Exception:  # a broken .env must not hide the error being reported
        return None


def friendly(fn: Callable) -> Callable:
    """Print RagErrors (and Ctrl-C) as one line instead of a traceback; secrets are redacted."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import click

        from rag.errors import RagError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.ClickException):
            raise
        except RagError as exc:
            _fail(str(exc))
        except ValueError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # one line, never a traceback (RAG_DEBUG=1 shows it)
            import os

            if os.environ.get("RAG_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for the traceback)")

    return wrapper


def _filters(year_from, year_to, sources):
    from rag.types import Filters

    return Filters.years(year_from, year_to, sources)


@app.command()
@friendly
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
    report = _engine().ingest(paths or None, prune=prune, progress=not as_json and sys.stderr.isatty(), rebuild=rebuild,
                              engine=engine, workers=workers, address=address)
    data = {k: report.to_dict()[k] for k in ("added", "updated", "unchanged", "removed", "papers")}
    if as_json:
        typer.echo(json.dumps(data))
    else:
        typer.echo(
            f"{data['papers']} papers indexed ({report.chunks} chunks): {data['added']} added, "
            f"{data['updated']} updated, {data['unchanged']} unchanged, {data['removed']} removed "
            f"in {report.seconds:.1f}s"
        )


@app.command()
@friendly
def search(
    query: str,
    k: Annotated[int, typer.Option("--k", "-k")] = 10,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ranked papers for a query (hybrid dense + BM25), without generating an answer."""
    hits = _engine().search(query, k=k, filters=_filters(year_from, year_to, source))
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits]))
        return
    if not hits:
        typer.echo("No papers match.")
    for i, h in enumerate(hits, 1):
        typer.secho(f"{i:>2}. {h.title}", bold=True)
        typer.echo(f"    score {h.score:.4f} · {h.snippet[:160]}…")


FORMATS = ("text", "json", "markdown", "bibtex")
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="text | json | markdown | bibtex (one entry per cited paper).")]


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(answer.to_dict()))
        return
    if answer.notice:
        from rag.security import redact

        typer.secho(redact(answer.notice, _settings()), fg=typer.colors.YELLOW, err=True)
    if answer.citations:
        typer.echo("\nSources:")
        for c in answer.citations:
            typer.echo(f"  [{c.number}] {c.title}  {c.url}")
    typer.secho(f"({answer.mode}{' · ' + answer.model if answer.model else ''} · "
                f"{answer.timings_ms.get('total', 0):.0f} ms)", dim=True)


@app.command()
@friendly
def ask(
    question: str,
    k: KOpt = None,
    llm: LLMOpt = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    source: SourceOpt = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Print the answer as it is generated.")] = True,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Answer a question from the indexed abstracts, citing paper titles."""
    from rag.answer import export
    from rag.types import Answer

    fmt = "json" if as_json else fmt.lower()
    if fmt not in FORMATS:
        _fail(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    engine = _engine()
    answer = None
    for item in engine.stream(question, k=k, filters=_filters(year_from, year_to, source), llm=llm):
        if isinstance(item, Answer):
            answer = item
        elif stream and fmt == "text":
            typer.echo(item, nl=False)
    assert answer is not None
    if fmt == "markdown":
        typer.echo(export.answer_markdown(answer.question, answer.text, answer.citations, answer.notice), nl=False)
    elif fmt == "bibtex":
        if answer.notice:
            typer.secho(answer.notice, fg=typer.colors.YELLOW, err=True)
        if not answer.citations:
            typer.secho("The answer cites no paper: nothing to export.", err=True)
        typer.echo(export.bibtex(answer.citations), nl=False)
    else:
        if fmt == "text":
            typer.echo("" if stream else answer.text)
        _print_answer(answer, fmt == "json")


@app.command()
@friendly
def feedback(as_json: JsonOpt = False) -> None:
    """Thumbs up/down given in the web UI, with the question, answer and citations judged."""
    engine = _engine()
    entries = engine.feedback()
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False))
        return
    if not entries:
        typer.echo(f"No feedback yet (it is stored in {engine.settings.index_dir / 'feedback.jsonl'}).")
    for entry in entries:
        mark = "+" if entry.get("rating") == "up" else "-"
        typer.echo(f"{mark} {entry.get('time', '')}  {entry.get('question', '')}")
    if entries:
        ups = sum(e.get("rating") == "up" for e in entries)
        typer.echo(f"{ups} up, {len(entries) - ups} down")


@app.command()
@friendly
def stats(as_json: JsonOpt = False) -> None:
    """Index facts: papers, chunks, source files, location, embedding model."""
    data = _engine().stats()
    if as_json:
        typer.echo(json.dumps(data))
    else:
        for key, value in data.items():
            typer.echo(f"{key:>12}: {', '.join(value) if isinstance(value, list) else value}")


@app.command()
@friendly
def doctor(as_json: JsonOpt = False) -> None:
    """Check the index: Chroma opens, a vector search and a BM25 search answer, the sentence cache reads."""
    checks = _engine().doctor()
    if as_json:
        typer.echo(json.dumps([{"check": n, "ok": ok, "detail": d} for n, ok, d in checks]))
    else:
        for name, ok, detail in checks:
            typer.secho(f"{'ok  ' if ok else 'FAIL'} {name:>15}: {detail}", fg=None if ok else typer.colors.RED)
        if not all(ok for _, ok, _ in checks):
            typer.echo("repair: rag ingest --rebuild", err=True)
    if not all(ok for _, ok, _ in checks):
        raise typer.Exit(1)


@app.command()
@friendly
def chat(llm: LLMOpt = None, k: KOpt = None) -> None:
    """Interactive terminal chat; follow-up questions use the conversation so far."""
    from rag.errors import RagError

    engine = _engine()
    session = engine.chat(llm=llm, k=k)
    typer.secho(f"paperchat · {engine.stats()['papers']} papers · answer mode {engine.resolve_mode(llm)}. "
                "Type a question; /new starts over, /quit exits.", bold=True)
    while True:
        try:
            line = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return
        if line in ("/quit", "/exit", "quit", "exit"):
            return
        if line == "/new":
            session.reset()
            typer.echo("(new conversation)")
            continue
        if not line:
            continue
        try:
            typer.echo("bot> ", nl=False)
            deltas = session.answer_stream(line)
            for delta in deltas:
                typer.echo(delta, nl=False)
            typer.echo()
            answer = deltas.answer
            if answer:
                if answer.standalone_question and answer.standalone_question != answer.question:
                    typer.secho(f"(searched for: {answer.standalone_question})", dim=True)
                _print_answer(answer, False)
        except RagError as exc:
            from rag.security import one_line

            typer.secho(f"error: {one_line(exc, engine.settings)}", fg=typer.colors.RED)


@app.command("eval")
@friendly
def eval_cmd(
    dataset: Annotated[Path | None, typer.Option("--dataset", help="JSONL questions (see eval/datasets/README.md).")] = None,
    dialogues: Annotated[Path | None, typer.Option("--dialogues", help="JSONL multi-turn dialogues instead.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="train | test: that part of the frozen split "
                                                           "(rag/evaluation/split.py). Questions: default all; "
                                                           "dialogues: default both, test first.")] = None,
    through_api: Annotated[bool, typer.Option("--api", help="Dialogues: through /v1/chat/completions.")] = False,
    llm: LLMOpt = None,
    k: Annotated[int, typer.Option("--k")] = 5,
    out: Annotated[Path | None, typer.Option("--out")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    compare: Annotated[list[str] | None, typer.Option("--compare", help="e.g. retriever=bm25,llm=extractive")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate retrieval, citations and refusals on a question set, or follow-ups on dialogues."""
    if split not in (None, "train", "test"):
        _fail(f"--split must be train or test, not {split!r}")
    if dialogues is not None:
        from rag.evaluation.dialogues import main as dialogue_main

        dialogue_main(_engine(), dialogues, split=split, llm=llm, k=k, through_api=through_api,
                      out=out or Path("out/eval-dialogues"), as_json=as_json)
        return
    if dataset is None:
        _fail("give --dataset FILE (questions) or --dialogues FILE (conversations)")
    from rag.evaluation.runner import main as eval_main

    eval_main(_engine(), dataset=dataset, llm=llm, k=k, out=out or Path("out/eval"), limit=limit,
              compare=compare or [], as_json=as_json, split=split)


@app.command()
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Default RAG_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default RAG_PORT (7860).")] = None,
) -> None:
    """Start the web UI (Gradio) with the HTTP API under /v1."""
    from ui.app import serve as serve_ui

    serve_ui(_engine(), host=host, port=port)


@app.command()
@friendly
def api(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP API only (OpenAI-compatible /v1/chat/completions, /v1/search, /v1/ask)."""
    from rag.api import serve as serve_api

    serve_api(_engine(), host=host, port=port)


@app.command()
@friendly
def bench(
    sizes: Annotated[str, typer.Option(help="Comma-separated index sizes for query latency.")] = "410,10000,100000",
    as_json: JsonOpt = False,
) -> None:
    """Speed figures: ingest vs raw encode, re-ingest, query latency by size, cold start, memory."""
    from rag.bench import main as bench_main

    bench_main(_engine(), sizes=[int(s) for s in sizes.split(",") if s.strip()], as_json=as_json)


if __name__ == "__main__":
    app()
