"""Refresh the screenshots: ask a question in a real browser, desktop (1280x900) and mobile (390x844).

    python -m tools.screenshot                      # starts the app on a free port over the configured index
    python -m tools.screenshot --url http://127.0.0.1:7860/   # or use an app that is already running

Saves ``docs/img/paperchat-desktop.png`` and ``docs/img/paperchat-mobile.png`` (and the desktop one
again as ``ui/assets/screenshot.png``, the README's picture). The desktop one shows the answer with
citation [1] clicked, so its card is highlighted; the mobile one shows the answer.
Uses Playwright with Debian's Chromium (``/usr/bin/chromium``);
it never downloads a browser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.browser import add_app_arguments, app_url, launch_browser

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img"
README_IMAGE = ROOT / "ui" / "assets" / "screenshot.png"
#: (file name, viewport width, height, mobile)
SHOTS = [("paperchat-desktop.png", 1280, 900, False), ("paperchat-mobile.png", 390, 844, True)]
DEFAULT_QUESTION = "How does Tower+ balance translation quality with general chat ability?"


def ask_in_page(page, question: str, timeout_ms: int = 120_000) -> None:
    """Type a question, send it, and wait until the answer is complete (Ask is enabled again) with its cards."""
    box = page.locator("#pc-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#pc-sources .pc-card").first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => { const b = document.querySelector('#pc-send'); return b && !b.disabled; }",
                           timeout=timeout_ms)


def take(url: str, out: Path, question: str) -> list[Path]:
    """Both screenshots into the folder ``out``; returns their paths."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = launch_browser(p)
        for name, width, height, mobile in SHOTS:
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                          is_mobile=mobile, has_touch=mobile)
            page = context.new_page()
            page.goto(url)
            ask_in_page(page, question)
            cite = page.locator('#pc-chat [data-testid="bot"] button.pc-cite').first
            if mobile:  # a phone shows the answer; its cards are further down the page
                page.locator('#pc-chat [data-testid="bot"]').last.scroll_into_view_if_needed()
            elif cite.count():
                cite.click()  # show what a citation does: its card is highlighted
            page.wait_for_timeout(800)  # smooth scrolling, the last stream frame and fonts
            page.screenshot(path=str(out / name), full_page=not mobile)
            saved.append(out / name)
            context.close()
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_app_arguments(parser)
    parser.add_argument("--question", default=DEFAULT_QUESTION)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNG files (default docs/img)")
    args = parser.parse_args(argv)
    with app_url(args.url, args.llm) as url:
        paths = take(url, args.out, args.question)
    README_IMAGE.write_bytes(paths[0].read_bytes())
    for path in [*paths, README_IMAGE]:
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
