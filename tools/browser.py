"""Headless Chromium and the UI served in a background thread: what the screenshot and latency tools and
the browser tests share.

Only public surfaces are used: :class:`rag.Engine`, the UI's app factory (``ui.app.create_app``) and
HTTP. Chromium is Debian's (``/usr/bin/chromium``, or ``RAG_CHROMIUM``); nothing downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag import Engine

CHROMIUM = os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextmanager
def running_app(engine: Engine, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """The UI served by uvicorn in a background thread on a free port; yields its URL.

    The port is chosen by the operating system at bind time (port 0), so two runs never race for one.
    """
    import uvicorn

    from ui.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(engine, auth=auth), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="paperchat-ui", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def launch_browser(playwright):
    """Headless Chromium from Playwright's sync API, or a one-line exit when it is not installed."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium).")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url`` (an app that is already running) and ``--llm`` (the answer mode of one started here)."""
    parser.add_argument("--url", help="an already running app (default: start one over the configured index)")
    parser.add_argument("--llm", default=None, help="answer mode for the started app (default RAG_LLM)")


@contextmanager
def app_url(url: str | None, llm: str | None = None) -> Iterator[str]:
    """``url`` when given, else the app started over the configured index in answer mode ``llm``."""
    if url:
        yield url
        return
    engine = Engine.from_env() if not llm else Engine.from_settings(llm=llm)
    if engine.is_empty():
        raise SystemExit("The index is empty: run `rag ingest` first.")
    with running_app(engine) as started:
        yield started
