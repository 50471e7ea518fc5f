"""Browser fixtures: one UI server and one headless Chromium per test session, a fresh tab per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.screenshot import CHROMIUM, launch_browser, running_app


@pytest.fixture(scope="session")
def ui_url(engine) -> str:
    """The app over the bundled-corpus index in extractive mode, served by uvicorn on a free port."""
    with running_app(engine) as url:
        yield url


@pytest.fixture(scope="session")
def browser(ui_url):  # depends on the server so that it closes first and the server shuts down promptly
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, as .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url)
    page.locator("#pc-question textarea").wait_for()
    return context, page


@pytest.fixture
def page(ui_url, browser):
    """A new browser context (so a new Gradio session) with the app loaded."""
    context, page = _open(browser, ui_url)
    yield page
    context.close()


@pytest.fixture
def open_tab(ui_url, browser):
    """Factory for extra independent tabs (separate sessions) within one test."""
    contexts = []

    def _tab():
        context, page = _open(browser, ui_url)
        contexts.append(context)
        return page

    yield _tab
    for context in contexts:
        context.close()
