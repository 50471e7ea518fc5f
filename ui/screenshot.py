"""Refresh the README screenshot: ask a question in a real browser and save ``ui/assets/screenshot.png``.

    python -m ui.screenshot                      # starts the app on a free port over the configured index
    python -m ui.screenshot --url http://127.0.0.1:7860/   # or use an app that is already running

Uses Playwright with Debian's Chromium (``/usr/bin/chromium``); it never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag import offline

offline.apply()

CHROMIUM = os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DEFAULT_OUT = Path(__file__).resolve().parent / "assets" / "screenshot.png"
DEFAULT_QUESTION = "How does Tower+ balance translation quality with general chat ability?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(engine, port: int | None = None, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """The UI served by uvicorn in a background thread; yields its URL. Shared by tests and scripts."""
    import uvicorn

    from ui.app import create_app

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine, auth=auth), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="paperchat-ui", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def launch_browser(playwright):
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium).")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def ask_in_page(page, question: str, timeout_ms: int = 120_000) -> None:
    """Type a question, send it, and wait until the answer and its source cards are shown."""
    box = page.locator("#pc-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#pc-sources .pc-card").first.wait_for(timeout=timeout_ms)
    page.locator("#pc-chat .message-row.bot-row, #pc-chat [data-testid='bot']").last.wait_for(timeout=timeout_ms)


def take(url: str, out: Path, question: str, width: int = 1440, height: int = 860) -> Path:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        page.goto(url)
        ask_in_page(page, question)
        page.wait_for_timeout(600)  # let the last stream frame and fonts settle
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running app (default: start one over the configured index)")
    parser.add_argument("--question", default=DEFAULT_QUESTION)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--llm", default=None, help="answer mode for the started app (default RAG_LLM)")
    args = parser.parse_args(argv)
    if args.url:
        path = take(args.url, args.out, args.question)
    else:
        from rag import Engine

        engine = Engine.from_env() if not args.llm else Engine.from_settings(llm=args.llm)
        if engine.is_empty():
            print("The index is empty: run `rag ingest` first.", file=sys.stderr)
            return 1
        with running_app(engine) as url:
            path = take(url, args.out, args.question)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
