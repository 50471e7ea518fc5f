"""Browser fixtures: one UI server and one headless Chromium per test session, a fresh tab per test,
and the helpers every browser test uses to ask like a user and read what the page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Engine
from tests.servers import SilentLLM
from tools.browser import CHROMIUM, launch_browser, running_app

#: True once an answer is complete: n bot bubbles, Ask enabled again, the last bubble not the placeholder.
DONE = """(n) => {
  const bots = document.querySelectorAll('#pc-chat [data-testid="bot"]');
  if (bots.length < n) return false;
  const send = document.querySelector('#pc-send');
  return !!send && !send.disabled && !bots[bots.length - 1].innerText.startsWith('Searching');
}"""


def bot_messages(page) -> list[str]:
    return [t.strip() for t in page.locator('#pc-chat [data-testid="bot"]').all_inner_texts()]


def ask(page, question: str, press_enter: bool = True) -> str:
    """Send a question like a user and return the finished answer bubble's text."""
    before = len(bot_messages(page))
    box = page.locator("#pc-question textarea")
    box.fill(question)
    if press_enter:
        box.press("Enter")
    else:
        page.locator("#pc-send").click()
    page.wait_for_function(DONE, arg=before + 1, timeout=120_000)  # the first answer warms the models up
    return bot_messages(page)[-1]


def cards(page) -> list[dict]:
    """The cards of the answer shown in the sources panel."""
    return page.locator("#pc-sources .pc-turn.pc-current .pc-card").evaluate_all(
        """els => els.map(e => ({title: e.querySelector('.pc-title a').childNodes[0].textContent,
                                href: e.querySelector('.pc-title a').href, target: e.querySelector('.pc-title a').target,
                                date: e.dataset.date, badge: e.querySelector('.pc-badge').innerText,
                                marks: [...e.querySelectorAll('.pc-snippet mark')].map(m => m.innerText.toLowerCase())}))"""
    )


def pick_year(page, elem_id: str, year: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(year)
    page.locator("ul[role='listbox'] li", has_text=year).first.click()


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


def _open(browser, url: str, width: int = 1440, height: int = 960, mobile: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
                                  accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url)
    page.locator("#pc-question textarea").wait_for()
    return context, page


@pytest.fixture
def page(ui_url, browser):
    """A new browser context (so a new Gradio session and empty browser storage) with the app loaded."""
    context, page = _open(browser, ui_url)
    yield page
    context.close()


@pytest.fixture
def mobile_page(ui_url, browser):
    context, page = _open(browser, ui_url, 390, 844, mobile=True)
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


@pytest.fixture
def stalled_page(engine, browser):
    """The app answering in openai mode from an endpoint that never replies, in a fresh tab."""
    silent = SilentLLM()
    settings = engine.settings.model_copy(update={"llm": "openai", "openai_base_url": silent.url,
                                                  "openai_api_key": "unused", "llm_timeout": 60, "llm_retries": 0})
    stalled = Engine(settings, store=engine.store, embedder=engine.embedder, bm25=engine.bm25)  # share index and models
    try:
        with running_app(stalled) as url:
            context, page = _open(browser, url)
            yield page
            context.close()
    finally:
        silent.close()
