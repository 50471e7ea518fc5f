"""The chat in a real browser (headless Chromium via Playwright) and through gradio_client.

One server (extractive mode, bundled corpus) and one browser per session; every test opens a fresh tab,
which is a fresh Gradio session. Non-browser tests at the bottom cover serving: auth, warnings, ports.
"""

from __future__ import annotations

import re
import socket

import pytest

from rag.errors import RagError
from ui import app as ui_app

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"

_DONE = """(n) => {
  const bots = document.querySelectorAll('#pc-chat [data-testid="bot"]');
  if (bots.length < n) return false;
  const last = bots[bots.length - 1];
  return !!last.querySelector('sub') || last.innerText.startsWith('Sorry:');
}"""

_RECORD = """() => {
  window.__frames = [];
  const root = document.querySelector('#pc-chat');
  new MutationObserver(() => {
    const bots = root.querySelectorAll('[data-testid="bot"]');
    if (!bots.length) return;
    const text = bots[bots.length - 1].innerText;
    if (!text.trim()) return;
    if (window.__frames[window.__frames.length - 1] !== text) window.__frames.push(text);
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def bot_messages(page) -> list[str]:
    return page.locator('#pc-chat [data-testid="bot"]').all_inner_texts()


def ask(page, question: str, press_enter: bool = True) -> str:
    """Send a question like a user and return the finished answer bubble's text."""
    before = len(bot_messages(page))
    box = page.locator("#pc-question textarea")
    box.fill(question)
    if press_enter:
        box.press("Enter")
    else:
        page.locator("#pc-send").click()
    page.wait_for_function(_DONE, arg=before + 1)
    return bot_messages(page)[-1]


def cards(page) -> list[dict]:
    return page.locator("#pc-sources .pc-card").evaluate_all(
        """els => els.map(e => ({title: e.querySelector('.pc-title').innerText.replace(/ ↗$/, ''),
                                date: e.dataset.date, badge: e.querySelector('.pc-badge').innerText,
                                marks: [...e.querySelectorAll('mark')].map(m => m.innerText.toLowerCase())}))"""
    )


def pick_year(page, elem_id: str, year: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(year)
    box.press("Enter")
    page.keyboard.press("Escape")


@pytest.mark.browser
def test_header_shows_index_facts_and_available_modes(page, engine):
    header = page.locator("#pc-header").inner_text()
    stats = engine.stats()
    assert f"{stats['papers']} papers" in header and f"{stats['chunks']} chunks" in header
    assert stats["embed_model"] in header and "LLM extractive" in header
    labels = page.locator("#pc-mode label").all_inner_texts()
    assert [label.split()[0] for label in labels] == engine.available_modes()
    assert page.locator("#pc-mode input:checked").count() == 1
    page.locator("#pc-mode label", has_text="auto").click()
    expected = f"LLM {engine.resolve_mode('auto')}"
    page.wait_for_function("t => document.querySelector('#pc-header').innerText.includes(t)", arg=expected)


@pytest.mark.browser
def test_answer_streams_with_cited_title_and_source_card(page):
    page.evaluate(_RECORD)
    answer = ask(page, TOWER_Q)
    frames = page.evaluate("window.__frames")
    assert frames[0].startswith("Searching the papers"), "the bubble appears before the answer is ready"
    assert frames[-1] == answer and len(frames) >= 2, "the answer arrives as streamed updates of one bubble"

    number = re.search(r"\[(\d+)\] " + re.escape(TOWER), answer)
    assert "Sources" in answer and number, answer
    assert f"[{number.group(1)}]" in answer.split("Sources")[0], "the cited marker appears in the answer text"
    shown = {c["title"]: c for c in cards(page)}
    assert len(shown) == 5, "one card per retrieved paper (k=5)"
    tower = shown[TOWER]
    assert tower["badge"] == f"cited [{number.group(1)}]"
    assert "translation" in tower["marks"], "question terms are highlighted in the evidence"
    assert tower["date"] == "2025-06-20"
    meta = page.locator("#pc-sources .pc-card", has_text=TOWER).locator(".pc-meta").inner_text()
    assert "20 Jun 2025" in meta and "7 authors" in meta and "score" in meta
    assert any(c["badge"] == "not cited" for c in shown.values())


@pytest.mark.browser
def test_follow_up_uses_this_tabs_history_only(page, open_tab):
    ask(page, TOWER_Q)
    ask(page, "which languages does it cover?")
    follow = {c["title"]: c for c in cards(page)}
    assert TOWER in follow, "the follow-up is condensed with the previous question before retrieval"
    assert "translation" in follow[TOWER]["marks"], "evidence is highlighted with the condensed question's terms"
    assert len(bot_messages(page)) == 2

    other = open_tab()  # a second user asking the same follow-up cold
    ask(other, "which languages does it cover?")
    marks = {m for c in cards(other) for m in c["marks"]}
    assert marks and all(m.startswith("language") for m in marks), f"tabs share no history: {marks}"


@pytest.mark.browser
def test_year_filter_changes_the_cards(page):
    ask(page, TOWER_Q)
    unfiltered = cards(page)
    assert any(not c["date"] for c in unfiltered), "without a filter undated papers are retrieved too"

    pick_year(page, "pc-year-from", "2025")
    pick_year(page, "pc-year-to", "2025")
    ask(page, TOWER_Q)
    filtered = cards(page)
    assert filtered and all(c["date"].startswith("2025-") for c in filtered), filtered
    assert [c["title"] for c in filtered] != [c["title"] for c in unfiltered]
    assert TOWER in [c["title"] for c in filtered]


@pytest.mark.browser
def test_empty_question_is_a_friendly_chat_message(page):
    answer = ask(page, "   ", press_enter=False)
    assert answer.startswith("Sorry: The question is empty")
    assert "Traceback" not in page.content()
    assert page.locator(".toast-body").count() == 0, "no error pop-up"
    assert page.locator("#pc-sources .pc-empty").count() == 1


@pytest.mark.browser
def test_new_chat_forgets_history_and_cards(page):
    ask(page, TOWER_Q)
    page.locator("#pc-new").click()
    page.wait_for_function("() => !document.querySelector('#pc-chat [data-testid=\"bot\"]')")
    assert page.locator("#pc-sources .pc-card").count() == 0
    ask(page, "which languages does it cover?")
    marks = {m for c in cards(page) for m in c["marks"]}
    assert marks and all(m.startswith("language") for m in marks), f"the follow-up starts from scratch: {marks}"

    page.locator('#pc-chat button[aria-label="Clear"]').click()  # the chat's bin icon resets the same way
    page.wait_for_function("() => !document.querySelector('#pc-sources .pc-card')")
    ask(page, "which languages does it cover?")
    marks = {m for c in cards(page) for m in c["marks"]}
    assert marks and all(m.startswith("language") for m in marks), f"the bin also forgets the history: {marks}"


@pytest.mark.browser
def test_gradio_client_ask_endpoint(ui_url):
    from gradio_client import Client

    client = Client(ui_url, verbose=False, download_files=False)
    text, citations = client.predict(TOWER_Q, api_name="/ask")
    assert TOWER in [c["title"] for c in citations]
    assert all(f"[{c['number']}]" in text for c in citations)
    with pytest.raises(Exception, match="question is empty"):
        client.predict("  ", api_name="/ask")


@pytest.mark.browser
def test_example_question_click_asks_it(page, engine):
    offered = ui_app.examples(engine)
    assert len(offered) >= 3, "the bundled corpus answers the curated examples"
    page.locator("#pc-chat button", has_text=offered[1]).first.click()
    page.wait_for_function(_DONE, arg=1)
    assert page.locator('#pc-chat [data-testid="user"]').inner_text().strip() == offered[1]
    assert "Sources" in bot_messages(page)[-1] and cards(page)


# --- serving (no browser) ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("", None), ("ann:s3cret", ("ann", "s3cret")), ("ann:a:b", ("ann", "a:b"))])
def test_parse_auth(value, expected):
    assert ui_app.parse_auth(value) == expected


@pytest.mark.parametrize("value", ["ann", ":pw", "ann:"])
def test_parse_auth_rejects_malformed_values(value):
    with pytest.raises(RagError, match="user:password"):
        ui_app.parse_auth(value)


def test_year_controls_validate():
    assert ui_app.filters_from("any", "", None) is None
    filters = ui_app.filters_from("2024", 2025, ["002.txt"])
    assert (filters.date_from.isoformat(), filters.date_to.isoformat(), filters.sources) == ("2024-01-01", "2025-12-31",
                                                                                             ["002.txt"])
    with pytest.raises(RagError, match="date range is empty"):
        ui_app.filters_from("2025", "2020", None)
    with pytest.raises(RagError, match="four-digit year"):
        ui_app.filters_from("last year", None, None)


def test_public_bind_without_login_warns_and_busy_port_is_one_line(engine, capsys):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RagError, match=f"Cannot listen on 0.0.0.0:{port}.*--port"):
            ui_app.serve(engine, host="0.0.0.0", port=port)
    assert "without a login" in capsys.readouterr().err
    assert ui_app.is_loopback("127.0.0.1") and ui_app.is_loopback("localhost") and ui_app.is_loopback("::1")
    assert not ui_app.is_loopback("0.0.0.0") and not ui_app.is_loopback("example.org")


def test_login_is_required_when_auth_is_set(engine):
    from fastapi.testclient import TestClient

    client = TestClient(ui_app.create_app(engine, auth=("ann", "s3cret")))
    assert client.get("/config").status_code == 401
    assert client.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 400
    assert client.post("/login", data={"username": "ann", "password": "s3cret"}).status_code == 200
    assert client.get("/config").status_code == 200


@pytest.mark.browser
def test_follow_ups_show_what_was_searched_for_and_never_repeat(page):
    titan = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"
    first = ask(page, "What is TorchTitan?")
    assert "searched for:" not in first, "a first question is searched as typed"
    second = ask(page, "What does it report?")
    assert "searched for: What does TorchTitan report?" in second
    assert titan in [c["title"] for c in cards(page) if c["badge"].startswith("cited")]
    third = ask(page, "and which dataset?")
    assert "searched for: and which dataset in TorchTitan?" in third
    assert "The TorchTitan abstract does not mention a dataset." in third
    quoted = [text.split("searched for:")[0].split("Sources")[0].strip() for text in (first, second, third)]
    assert len(set(quoted)) == 3, quoted
    assert not any(q[:80] in other for q in quoted for other in quoted if other is not q)
