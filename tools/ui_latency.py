"""Measure, in a real browser, how long the chat takes to show the first streamed answer text.

    python -m tools.ui_latency --llm local              # starts the app over the configured index
    python -m tools.ui_latency --url http://127.0.0.1:7860/ --runs 5

For each question the clock starts when Enter is pressed in the page and stops when the answer bubble
first shows answer text (not the "Searching the papers…" placeholder), then when the answer is complete.
The first question is a warm-up (model load) and is reported separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from tools.browser import add_app_arguments, app_url, launch_browser

QUESTIONS = [
    "How does Tower+ balance translation quality with general chat ability?",
    "What is CodeT5+ and which code tasks does it support?",
    "Does pre-training on synthetic data help offline reinforcement learning?",
    "How does Madeleine use multiple stains to pretrain slide representations?",
    "What is an infinite learning rate schedule for continual pre-training?",
    "How susceptible are large language models to ideological manipulation?",
]

_ARM = """() => {
  const root = document.querySelector('#pc-chat');
  const n = root.querySelectorAll('[data-testid="bot"]').length;
  window.__lat = {t0: performance.now(), placeholder: null, first: null, done: null};
  if (window.__obs) window.__obs.disconnect();
  window.__obs = new MutationObserver(() => {
    const bots = root.querySelectorAll('[data-testid="bot"]');
    if (bots.length <= n) return;
    const el = bots[bots.length - 1], text = el.innerText.trim(), t = performance.now() - window.__lat.t0;
    if (!text) return;
    if (text.startsWith('Searching the papers')) { window.__lat.placeholder ??= t; return; }
    window.__lat.first ??= t;
    const send = document.querySelector('#pc-send');  // Ask is enabled again once the answer is complete
    if (send && !send.disabled) window.__lat.done ??= t;
  });
  window.__obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def measure(url: str, questions: list[str], timeout_ms: int = 300_000) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1440, "height": 960})
        page.goto(url)
        box = page.locator("#pc-question textarea")
        for question in questions:
            page.locator("#pc-new").click()  # a fresh chat: no follow-up condensation in the timing
            # New chat also empties the question box: type only once its reply has arrived, or the typed
            # question is wiped and Enter sends nothing.
            page.wait_for_function("() => !document.querySelector('#pc-chat [data-testid=\"bot\"]') && "
                                   "document.querySelector('#pc-live').innerText.includes('New chat started.')")
            box.fill(question)
            page.evaluate(_ARM)
            box.press("Enter")
            page.wait_for_function("() => window.__lat.done !== null", timeout=timeout_ms)
            lat = page.evaluate("window.__lat")
            footer = page.locator("#pc-sources .pc-turn.pc-current .pc-sources-head span").inner_text()
            mode = footer.split(" · ")[1] if " · " in footer else "error"
            results.append({"question": question, "mode": mode, "placeholder_ms": lat["placeholder"],
                            "first_text_ms": lat["first"], "complete_ms": lat["done"]})
            print(f"{lat['first'] / 1000:6.2f} s first text  {lat['done'] / 1000:6.2f} s complete  [{mode}] {question}",
                  file=sys.stderr)
        browser.close()
    return results


def summary(results: list[dict]) -> dict:
    warm = results[1:] or results
    firsts = sorted(r["first_text_ms"] for r in warm)
    return {
        "mode": warm[0]["mode"],
        "cold_first_text_s": round(results[0]["first_text_ms"] / 1000, 2),
        "median_first_text_s": round(statistics.median(firsts) / 1000, 2),
        "max_first_text_s": round(firsts[-1] / 1000, 2),
        "median_placeholder_s": round(statistics.median(r["placeholder_ms"] or 0 for r in warm) / 1000, 3),
        "median_complete_s": round(statistics.median(r["complete_ms"] for r in warm) / 1000, 2),
        "questions": len(warm),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_app_arguments(parser)
    parser.add_argument("--runs", type=int, default=len(QUESTIONS) - 1, help="timed questions after the warm-up")
    parser.add_argument("--json", action="store_true", help="print every measurement as JSON")
    args = parser.parse_args(argv)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.runs + 1)]
    with app_url(args.url, args.llm) as url:
        results = measure(url, questions)
    print(json.dumps({"summary": summary(results), **({"runs": results} if args.json else {})}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
