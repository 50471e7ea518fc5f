"""The chat in a real browser (headless Chromium via Playwright) and through gradio_client.

One server (extractive mode, bundled corpus) and one browser per session; every test opens a fresh tab,
which is a fresh Gradio session with empty browser storage. Non-browser tests at the bottom cover
serving: auth, warnings, ports.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.security import is_loopback
from tests.ui.conftest import ask, bot_messages, cards, pick_year
from ui import app as ui_app
from ui.facts import examples

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"

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
def test_answer_streams_numbered_from_1_with_cards_that_link_out(page):
    page.evaluate(_RECORD)
    answer = ask(page, TOWER_Q)
    frames = page.evaluate("window.__frames")
    assert frames[0].startswith("Searching the papers"), "the bubble appears before the answer is ready"
    assert frames[-1] == answer and len(frames) >= 2, "the answer arrives as streamed updates of one bubble"

    body, _, listed = answer.partition("Sources:")
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
    assert numbers and sorted(set(numbers)) == list(range(1, max(numbers) + 1)), f"[n] never skip: {numbers}"
    assert list(dict.fromkeys(numbers)) == sorted(set(numbers)), "numbered in order of first use"
    number = re.search(r"\[(\d+)\] " + re.escape(TOWER), listed)
    assert number, answer
    shown = {c["title"]: c for c in cards(page)}
    assert len(shown) == 5, "one card per retrieved paper (k=5)"
    tower = shown[TOWER]
    assert tower["badge"] == f"cited [{number.group(1)}]"
    assert "translation" in tower["marks"], "question terms are highlighted in the evidence"
    assert tower["date"] == "2025-06-20"
    assert tower["href"].startswith("https://arxiv.org/search/") and tower["target"] == "_blank"
    assert all(c["href"].startswith("https://") for c in shown.values()), "every title links out"
    meta = page.locator("#pc-sources .pc-card", has_text=TOWER).locator(".pc-meta").inner_text()
    assert "20 Jun 2025" in meta and "7 authors" in meta and "score" in meta
    assert any(c["badge"] == "not cited" for c in shown.values())


@pytest.mark.browser
def test_clicking_a_marker_jumps_to_and_highlights_its_card_also_for_earlier_answers(page):
    ask(page, TOWER_Q)
    ask(page, "Which code tasks does CodeT5+ support?")  # no pronoun: not a follow-up of the first
    second = page.locator('#pc-chat [data-testid="bot"]').nth(1).locator("button.pc-cite").first
    second.click()
    flashed = page.locator("#pc-sources .pc-card.pc-flash")
    flashed.wait_for()
    assert flashed.get_attribute("data-n") == second.get_attribute("data-n")
    assert "CodeT5+" in flashed.locator(".pc-title").inner_text()
    page.wait_for_timeout(500)  # smooth scrolling
    assert flashed.evaluate("e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")

    first = page.locator('#pc-chat [data-testid="bot"]').nth(0).locator("button.pc-cite").first
    assert first.get_attribute("aria-label").startswith("Source ")
    first.click()  # the first answer's cards come back
    page.wait_for_function("() => document.querySelector('#pc-turn-0').classList.contains('pc-current')")
    flashed = page.locator("#pc-turn-0 .pc-card.pc-flash")
    assert flashed.get_attribute("data-n") == first.get_attribute("data-n")
    assert not page.locator("#pc-turn-1").is_visible()


@pytest.mark.browser
def test_card_expands_to_the_full_abstract(page, engine):
    ask(page, TOWER_Q)
    card = page.locator("#pc-sources .pc-card", has_text=TOWER)
    abstract = card.locator(".pc-abstract")
    assert not abstract.is_visible()
    card.locator("summary", has_text="Full abstract").click()
    abstract.wait_for(state="visible")
    full = next(h.abstract for h in engine.search(TOWER_Q, k=5) if h.title == TOWER)
    assert abstract.inner_text().strip() == " ".join(full.split()), "the whole abstract, not an excerpt"


@pytest.mark.browser
def test_copy_citation_puts_the_reference_on_the_clipboard(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, TOWER_Q)
    card = page.locator("#pc-sources .pc-card", has_text=TOWER)
    card.locator("button.pc-copy").click()
    card.locator("button.pc-copy", has_text="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(TOWER + " (2025). https://arxiv.org/search/")


@pytest.mark.browser
def test_export_markdown_with_references_and_bibtex_of_cited_papers(page):
    assert page.locator("#pc-export-md").is_disabled(), "nothing to export before the first answer"
    answer = ask(page, TOWER_Q)
    cited = re.findall(r"^\[(\d+)\] (.+)$", answer.split("Sources:")[1], re.M)
    with page.expect_download() as info:
        page.locator("#pc-export-md").click()
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# paperchat conversation") and f"## {TOWER_Q}" in markdown
    assert "**References**" in markdown and f"[{TOWER}](https://arxiv.org/search/" in markdown
    with page.expect_download() as info:
        page.locator("#pc-export-bib").click()
    bib = Path(info.value.path()).read_text(encoding="utf-8")
    assert bib.count("@misc{") == len(cited) and "title = {{" + TOWER + "}}" in bib


@pytest.mark.browser
def test_history_survives_a_reload_and_new_chat_forgets_it(page):
    ask(page, TOWER_Q)
    before = bot_messages(page)
    page.reload()
    page.locator("#pc-question textarea").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#pc-chat [data-testid=\"bot\"]').length === 1")
    assert bot_messages(page) == before
    assert TOWER in [c["title"] for c in cards(page)], "the cards come back too"
    ask(page, "which languages does it cover?")
    assert TOWER in [c["title"] for c in cards(page)], "a follow-up after the reload continues the conversation"

    page.locator("#pc-new").click()
    page.wait_for_function("() => !document.querySelector('#pc-chat [data-testid=\"bot\"]')")
    assert page.locator("#pc-sources .pc-card").count() == 0
    page.wait_for_timeout(300)  # the browser storage write
    page.reload()
    page.locator("#pc-question textarea").wait_for()
    page.wait_for_timeout(1000)
    assert bot_messages(page) == [], "New chat also empties the stored history"
    ask(page, "which languages does it cover?")
    marks = {m for c in cards(page) for m in c["marks"]}
    assert marks and all(m.startswith("language") for m in marks), f"the follow-up starts from scratch: {marks}"


@pytest.mark.browser
def test_stop_cancels_a_hanging_answer_and_ask_is_disabled_meanwhile(stalled_page):
    page = stalled_page
    send, stop = page.locator("#pc-send"), page.locator("#pc-stop")
    assert send.is_enabled() and not stop.is_visible()
    page.locator("#pc-question textarea").fill(TOWER_Q)
    send.click()
    stop.wait_for(state="visible")
    assert send.is_disabled(), "Ask is disabled while an answer runs"
    page.locator("#pc-question textarea").press("Enter")  # ignored too
    stop.click()
    stop.wait_for(state="hidden")
    assert send.is_enabled()
    assert page.locator("#pc-question textarea").input_value() == TOWER_Q, "the question is given back"
    assert bot_messages(page) == [], "no half answer is left behind"
    # the announcement ends with "Stopped." (Gradio may briefly tag the cancelled event's output "Error")
    assert page.locator("#pc-live").inner_text().strip().splitlines()[-1] == "Stopped."


@pytest.mark.browser
def test_thumbs_are_stored_with_question_answer_and_citations(page, engine):
    before = len(engine.feedback())
    answer = ask(page, TOWER_Q)
    bot = page.locator('#pc-chat [data-testid="bot"]').last
    bot.hover()
    page.locator('#pc-chat button[aria-label="Dislike"]').last.click()
    page.locator("#pc-feedback-note", has_text="thumbs down was saved").wait_for()
    entries = engine.feedback()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry["rating"], entry["question"]) == ("down", TOWER_Q)
    assert entry["answer"] and entry["answer"] in answer
    assert TOWER in [c["title"] for c in entry["citations"]] and all({"n", "url"} <= set(c) for c in entry["citations"])


@pytest.mark.browser
def test_filters_offer_readable_files_and_years_from_the_data(page, engine):
    catalog = engine.catalog()
    page.locator("#pc-files input").click()
    options = page.locator("ul[role='listbox'] li").all_inner_texts()
    page.keyboard.press("Escape")
    page.locator("ul[role='listbox']").first.wait_for(state="detached", timeout=5000)  # one open list at a time
    assert len(options) == 5 and not any(".txt" in o for o in options), options
    assert any(o.startswith("Sep 9 listing · Detection-Oriented") for o in options)

    page.locator("#pc-year-from input").click()
    years = [o.replace("✓", "").strip() for o in page.locator("ul[role='listbox'] li").all_inner_texts()]
    page.keyboard.press("Escape")
    assert years == ["any"] + [f"{y} ({n} paper{'s' if n != 1 else ''})" for y, n in catalog["years"].items()]
    info = page.locator("#pc-year-info").inner_text()
    assert f"{catalog['dated']} of {catalog['papers']} papers are dated" in info


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
    assert page.locator("#pc-turn-1 .pc-filter-chip", has_text="2025").is_visible()


@pytest.mark.browser
def test_a_refused_filtered_question_explains_the_filter_prominently(page, engine):
    pick_year(page, "pc-year-from", "2020")
    pick_year(page, "pc-year-to", "2020")
    answer = ask(page, TOWER_Q)
    assert "do not answer" in answer
    note = page.locator('#pc-chat [data-testid="bot"] p.pc-filter-note')
    assert note.is_visible() and "Only papers dated 2020 were searched" in note.inner_text()
    assert int(note.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 14
    warn = page.locator("#pc-sources .pc-filter-warn")
    assert warn.is_visible() and "undated papers are left out" in warn.inner_text()


_CONTRAST = """(selectors) => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor);
                               if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3); }
                             return [255, 255, 255]; };
  const out = [];
  for (const sel of selectors) for (const el of document.querySelectorAll(sel)) {
    if (!el.offsetParent || !el.innerText.trim()) continue;
    const fg = lum(parse(getComputedStyle(el).color)), bg = lum(background(el));
    out.push([sel, el.innerText.trim().slice(0, 30), (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)]);
  }
  return out;
}"""


@pytest.mark.browser
def test_text_contrast_is_at_least_4_5_to_1(page):
    ask(page, TOWER_Q)
    page.locator("#pc-sources .pc-card summary").first.click()
    selectors = [".pc-meta", ".pc-badge", ".pc-sources-head", ".pc-turn-q", ".pc-snippet", ".pc-abstract", ".pc-more summary",
                 ".pc-copy", ".pc-title a", "button.pc-cite", ".info-text", '[data-testid="block-info"]', "#pc-year-info p",
                 "#pc-controls label span", "#pc-chat .message-content p", "#pc-send", "#pc-new"]
    measured = page.evaluate(_CONTRAST, selectors)
    found = {sel for sel, _, _ in measured}
    assert {".pc-meta", ".pc-badge", ".info-text", '[data-testid="block-info"]', "#pc-year-info p", "button.pc-cite"} <= found
    low = [m for m in measured if m[2] < 4.5]
    assert not low, f"contrast below 4.5:1: {low}"


@pytest.mark.browser
def test_inputs_are_labelled_and_answers_are_announced_as_text(page):
    for name in ("Your question", "From year", "To year", "Corpus files"):
        assert page.get_by_label(name, exact=True).count() == 1, name
    assert page.get_by_role("button", name="Ask", exact=True).count() == 1
    live = page.locator("#pc-live")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    answer = ask(page, TOWER_Q)
    page.wait_for_function("() => document.querySelector('#pc-live').innerText.startsWith('Answer:')")
    spoken = live.inner_text().strip()
    assert "[" not in spoken and "*" not in spoken and "<" not in spoken
    first = answer.split("Sources:")[0].strip().split(" [")[0]
    assert first in spoken and TOWER in spoken


@pytest.mark.browser
def test_a_spanish_question_is_told_the_abstracts_are_english(page):
    answer = ask(page, "¿Cómo equilibra Tower+ la calidad de la traducción con la capacidad de chat general?")
    assert answer.startswith("Note: Your question looks Spanish; the indexed abstracts are in English")
    assert page.locator('#pc-chat [data-testid="bot"] p.pc-note').is_visible()


@pytest.mark.browser
def test_copy_button_copies_clean_text(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    def copy_last() -> str:
        page.locator('#pc-chat [data-testid="bot"]').last.hover()
        page.locator('#pc-chat button[aria-label="Copy message"]').last.click()
        return page.evaluate("navigator.clipboard.readText()")

    ask(page, "¿Cómo equilibra Tower+ la calidad de la traducción con la capacidad de chat general?")
    copied = copy_last()
    assert copied.startswith("Note: Your question looks Spanish")
    ask(page, TOWER_Q)
    copied = copy_last()
    assert "[1]" in copied and "Sources:" in copied and TOWER in copied
    for markup in ("**", "<sub>", "> ", "<button", "pc-cite"):
        assert markup not in copied, markup


@pytest.mark.browser
def test_empty_question_is_a_friendly_chat_message(page):
    answer = ask(page, "   ", press_enter=False)
    assert answer.startswith("Sorry: The question is empty")
    assert "Traceback" not in page.content()
    assert page.locator(".toast-body").count() == 0, "no error pop-up"
    assert page.locator("#pc-sources .pc-empty").count() == 1


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
def test_mobile_layout_has_no_sideways_scroll(mobile_page):
    ask(mobile_page, TOWER_Q)
    width = mobile_page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    mobile_page.locator('#pc-chat [data-testid="bot"] button.pc-cite').first.click()
    flashed = mobile_page.locator("#pc-sources .pc-card.pc-flash")
    flashed.wait_for()
    mobile_page.wait_for_timeout(700)
    assert flashed.evaluate("e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; }")


@pytest.mark.browser
def test_gradio_client_ask_endpoint(ui_url):
    from gradio_client import Client

    client = Client(ui_url, verbose=False, download_files=False)
    text, citations = client.predict(TOWER_Q, api_name="/ask")
    assert TOWER in [c["title"] for c in citations]
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    assert all(f"[{c['n']}]" in text and c["url"] for c in citations)
    with pytest.raises(Exception, match="question is empty"):
        client.predict("  ", api_name="/ask")


@pytest.mark.browser
def test_example_question_click_asks_it(page, engine):
    offered = examples(engine)
    assert len(offered) >= 3, "the bundled corpus answers the curated examples"
    page.locator("#pc-chat button", has_text=offered[1]).first.click()
    page.wait_for_function("() => document.querySelectorAll('#pc-chat [data-testid=\"bot\"]').length === 1")
    page.wait_for_function("() => !document.querySelector('#pc-send').disabled && "
                           "!document.querySelector('#pc-chat [data-testid=\"bot\"]').innerText.startsWith('Searching')")
    assert page.locator('#pc-chat [data-testid="user"]').inner_text().strip() == offered[1]
    assert "Sources" in bot_messages(page)[-1] and cards(page)


# --- serving (no browser) ------------------------------------------------------------------------------

def test_public_bind_without_login_warns_and_busy_port_is_one_line(engine, capsys):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RagError, match=f"Cannot listen on 0.0.0.0:{port}.*--port"):
            ui_app.serve(engine, host="0.0.0.0", port=port)
    assert "without a login" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


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
