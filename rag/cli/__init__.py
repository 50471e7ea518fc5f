"""The ``rag`` command line: a thin typer client of :class:`rag.Engine`.

Every command prints human output by default and the documented JSON shape with ``--json``.
Errors the user can act on (RagError) print one line and exit 1, never a stack trace. The commands
live by concern in :mod:`rag.cli.index`, :mod:`rag.cli.query`, :mod:`rag.cli.measure` and
:mod:`rag.cli.servers`; :data:`COMMANDS` lists them in the order ``rag --help`` shows.
"""

from __future__ import annotations

import typer

from rag.cli import index, measure, query, servers
from rag.cli.base import friendly

COMMANDS = (
    ("ingest", index.ingest), ("search", query.search), ("ask", query.ask), ("feedback", index.feedback),
    ("stats", index.stats), ("doctor", index.doctor), ("chat", query.chat), ("eval", measure.eval_cmd),
    ("serve", servers.serve), ("api", servers.api), ("bench", measure.bench),
)


def _build() -> typer.Typer:
    cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
    for name, command in COMMANDS:
        cli.command(name)(friendly(command))
    return cli


app = _build()
