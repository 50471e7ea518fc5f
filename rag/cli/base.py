"""What every ``rag`` command shares: its options, the engine, and one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, NoReturn

import typer

from rag import offline

offline.apply()  # rag/__init__ does it too; the CLI must not depend on that to stay off the network

from rag.llm import mode_help  # noqa: E402

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
KOpt = Annotated[int | None, typer.Option("--k", "-k", help="Number of papers (default RAG_TOP_K).")]
YearFrom = Annotated[int | None, typer.Option("--year-from", help="Only papers dated this year or later.")]
YearTo = Annotated[int | None, typer.Option("--year-to", help="Only papers dated this year or earlier.")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only papers from this corpus file.")]
LLMOpt = Annotated[str | None, typer.Option(
    "--llm", help=" | ".join(f"{mode} ({words})" for mode, words in mode_help().items()))]


def open_engine():
    from rag.engine import Engine

    return Engine.from_env()


def fail(message: str) -> NoReturn:
    from rag.security import one_line

    typer.secho(f"error: {one_line(message, current_settings())}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def current_settings():
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
            fail(str(exc))
        except ValueError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # one line, never a traceback (RAG_DEBUG=1 shows it)
            import os

            if os.environ.get("RAG_DEBUG"):
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for the traceback)")

    return wrapper


def make_filters(year_from, year_to, sources):
    from rag.types import Filters

    return Filters.years(year_from, year_to, sources)


def echo_json(data) -> None:
    typer.echo(json.dumps(data))
