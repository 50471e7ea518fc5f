"""Asking the index: ``rag search``, ``rag ask`` and the terminal ``rag chat``."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.base import (
    JsonOpt,
    KOpt,
    LLMOpt,
    SourceOpt,
    YearFrom,
    YearTo,
    current_settings,
    echo_json,
    fail,
    make_filters,
    open_engine,
)

FORMATS = ("text", "json", "markdown", "bibtex")
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="text | json | markdown | bibtex (one entry per cited paper).")]


def search(
    query: str,
    k: Annotated[int, typer.Option("--k", "-k")] = 10,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ranked papers for a query (hybrid dense + BM25), without generating an answer."""
    hits = open_engine().search(query, k=k, filters=make_filters(year_from, year_to, source))
    if as_json:
        echo_json([h.to_dict() for h in hits])
        return
    if not hits:
        typer.echo("No papers match.")
    for i, h in enumerate(hits, 1):
        typer.secho(f"{i:>2}. {h.title}", bold=True)
        typer.echo(f"    score {h.score:.4f} · {h.snippet[:160]}…")


def print_answer(answer, as_json: bool) -> None:
    if as_json:
        echo_json(answer.to_dict())
        return
    if answer.notice:
        from rag.security import redact

        typer.secho(redact(answer.notice, current_settings()), fg=typer.colors.YELLOW, err=True)
    if answer.citations:
        typer.echo("\nSources:")
        for c in answer.citations:
            typer.echo(f"  [{c.number}] {c.title}  {c.url}")
    typer.secho(f"({answer.mode}{' · ' + answer.model if answer.model else ''} · "
                f"{answer.timings_ms.get('total', 0):.0f} ms)", dim=True)


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
        fail(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    engine = open_engine()
    answer = None
    for item in engine.stream(question, k=k, filters=make_filters(year_from, year_to, source), llm=llm):
        if isinstance(item, Answer):
            answer = item
        elif stream and fmt == "text":
            typer.echo(item, nl=False)
    if answer is None:
        fail("the answer stream ended without an answer")
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
        print_answer(answer, fmt == "json")


def chat(llm: LLMOpt = None, k: KOpt = None) -> None:
    """Interactive terminal chat; follow-up questions use the conversation so far."""
    from rag.errors import RagError

    engine = open_engine()
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
                print_answer(answer, False)
        except RagError as exc:
            from rag.security import one_line

            typer.secho(f"error: {one_line(exc, engine.settings)}", fg=typer.colors.RED)
