"""Serving: ``rag serve`` (the web UI with the HTTP API under /v1) and ``rag api`` (the HTTP API alone)."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.base import open_engine


def serve(
    host: Annotated[str | None, typer.Option(help="Default RAG_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default RAG_PORT (7860).")] = None,
) -> None:
    """Start the web UI (Gradio) with the HTTP API under /v1."""
    from ui.app import serve as serve_ui

    serve_ui(open_engine(), host=host, port=port)


def api(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP API only (OpenAI-compatible /v1/chat/completions, /v1/search, /v1/ask)."""
    from rag.api import serve as serve_api

    serve_api(open_engine(), host=host, port=port)
