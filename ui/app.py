"""The browser chat: a Gradio Blocks app over :class:`rag.Engine`, mounted on the HTTP API's FastAPI app.

Only the engine's public methods are called (``chat``, ``stats``, ``search``, ``ask``,
``available_modes``, ``resolve_mode``), so the UI answers exactly like the CLI and the API. Each
browser tab keeps its own :class:`rag.engine.ChatSession` in ``gr.State``: follow-ups use that tab's
history and nothing is shared between users.

No ``from __future__ import annotations`` here: ``gr.api`` reads the ``ask`` endpoint's schema from
real (non-string) type hints.
"""

import hmac
import logging
import math
import secrets
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rag import offline

offline.apply()  # before gradio is imported: no analytics, no hub calls

import gradio as gr  # noqa: E402

from rag.answer import export  # noqa: E402
from rag.engine import ChatSession, Engine  # noqa: E402
from rag.errors import BadQuestion, RagError  # noqa: E402
from rag.security import LoginThrottle, exposure_warning, redact  # noqa: E402
from rag.security import is_loopback as is_loopback  # noqa: E402,PLC0414 - re-exported for callers and tests
from rag.types import Answer, Filters  # noqa: E402
from ui import render  # noqa: E402

log = logging.getLogger("paperchat.ui")

ASSETS = Path(__file__).resolve().parent / "assets"
MODE_HELP = {
    "openai": "OpenAI API",
    "local": "SmolLM2, CPU",
    "extractive": "quoted evidence, no LLM",
}
ANY_YEAR = "any"
#: localStorage key of the conversation (gr.BrowserState): history survives a reload of the page.
HISTORY_KEY = "paperchat-history"
#: Turns kept in the browser; older ones are dropped so localStorage (about 5 MB) never fills up.
MAX_TURNS = 40
SEARCHING = "Searching the papers…"

#: Candidate example questions about the bundled corpus, each with a word its answering paper's title
#: must contain. Only those whose paper is actually in the index are offered (see :func:`examples`).
EXAMPLES = [
    ("How does Tower+ balance translation quality with general chat ability?", "Tower+"),
    ("What is CodeT5+ and which code tasks does it support?", "CodeT5+"),
    ("Does pre-training on synthetic data help offline reinforcement learning?", "Synthetic Data"),
    ("How does Madeleine use multiple stains to pretrain slide representations?", "Multistain"),
    ("What is an infinite learning rate schedule for continual pre-training?", "Infinite Learning Rate"),
]

CSS = """
.gradio-container { max-width: 1500px !important; margin: 0 auto !important; }
footer { display: none !important; }
.pc-sr { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
#pc-live { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.pc-header { display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  padding: 14px 20px; border-radius: 14px; color: #fff;
  background: linear-gradient(120deg, #312e81 0%, #4338ca 55%, #5b21b6 100%); }
.pc-brand { display: flex; align-items: center; gap: 12px; }
.pc-logo { display: inline-flex; padding: 7px; border-radius: 10px; background: rgba(255,255,255,.15); color: #fff; }
.pc-header h1 { margin: 0; font-size: 22px; font-weight: 700; color: #fff; letter-spacing: -0.01em; }
.pc-header p { margin: 2px 0 0; font-size: 13px; color: #fff; }
.pc-facts { display: flex; gap: 8px; flex-wrap: wrap; }
.pc-fact { background: rgba(0,0,0,.22); border: 1px solid rgba(255,255,255,.3); border-radius: 999px;
  padding: 4px 11px; font-size: 12.5px; color: #fff; white-space: nowrap; }
.pc-fact b { color: #fff; }
.pc-warn { background: #fde68a; color: #78350f; border-color: #f59e0b; }
.pc-warn code { color: #78350f; }
#pc-controls-title { font-weight: 600; font-size: 14px; margin: 2px 0 -4px; }
#pc-sources-panel { min-height: 620px; }
.pc-sources { display: flex; flex-direction: column; gap: 10px; max-height: 680px; overflow-y: auto; padding-right: 4px; }
.pc-turn { display: none; flex-direction: column; gap: 10px; min-width: 0; }
.pc-card, .pc-sources-head, .pc-turn-q { min-width: 0; overflow-wrap: anywhere; }
.pc-turn.pc-current { display: flex; }
.pc-sources-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap;
  font-size: 13px; color: #334155; padding: 2px 2px 0; }
.pc-sources-head b { font-size: 14px; color: #0f172a; }
.pc-turn-q { font-size: 12.5px; color: #334155; margin-top: -6px; overflow: hidden; display: -webkit-box;
  -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
.pc-filter-warn { border: 2px solid #b45309; background: #fffbeb; color: #78350f; border-radius: 10px; padding: 10px 12px;
  font-size: 14px; line-height: 1.45; }
.pc-filter-chip { align-self: flex-start; font-size: 12.5px; color: #1e3a8a; background: #dbeafe; border-radius: 999px;
  padding: 2px 10px; }
.pc-empty { border: 1px dashed #94a3b8; border-radius: 12px; padding: 28px 18px; text-align: center;
  color: #334155; font-size: 14px; background: #fff; }
.pc-card { border: 1px solid #cbd5e1; border-radius: 12px; padding: 11px 13px 10px; background: #fff; color: #0f172a;
  box-shadow: 0 1px 2px rgba(15,23,42,.05); scroll-margin: 12px; transition: box-shadow .2s, background .2s; }
.pc-card:focus { outline: none; }
.pc-card-cited { border-left: 4px solid #4338ca; }
.pc-card.pc-flash { background: #eef2ff; box-shadow: 0 0 0 3px #4338ca; }
.pc-card-head { display: flex; align-items: flex-start; gap: 8px; }
.pc-rank { flex: none; width: 22px; height: 22px; border-radius: 50%; background: #e2e8f0;
  font-size: 12px; font-weight: 600; display: inline-flex; align-items: center; justify-content: center; color: #1e293b; }
.pc-title { flex: 1; font-weight: 600; font-size: 14px; line-height: 1.35; color: #0f172a; }
.pc-title a { color: #3730a3; text-decoration: none; }
.pc-title a:hover, .pc-title a:focus { text-decoration: underline; }
.pc-badge { flex: none; font-size: 12px; font-weight: 600; border-radius: 999px; padding: 2px 8px; white-space: nowrap; }
.pc-cited { background: #e0e7ff; color: #312e81; }
.pc-uncited { background: #f1f5f9; color: #334155; font-weight: 500; }
.pc-meta { font-size: 12.5px; color: #334155; margin: 5px 0 0 30px; }
.pc-file { font-size: 12.5px; }
.pc-bar { height: 3px; border-radius: 2px; background: #e2e8f0; margin: 6px 0 0 30px; overflow: hidden; }
.pc-bar span { display: block; height: 100%; background: linear-gradient(90deg, #6366f1, #4338ca); }
.pc-snippet, .pc-abstract { font-size: 13px; line-height: 1.5; margin: 7px 0 0 30px; color: #0f172a; }
.pc-snippet mark, .pc-abstract mark { background: #fef08a; color: inherit; padding: 0 1px; border-radius: 2px; }
.pc-more { margin: 6px 0 0 30px; }
.pc-more summary { cursor: pointer; font-size: 13px; font-weight: 600; color: #3730a3; }
.pc-more .pc-abstract { margin-left: 0; }
.pc-actions { margin: 6px 0 0 30px; display: flex; gap: 8px; }
.pc-copy { font-size: 12.5px; font-weight: 600; color: #3730a3; background: #fff; border: 1px solid #a5b4fc;
  border-radius: 8px; padding: 3px 10px; cursor: pointer; }
.pc-copy:hover, .pc-copy:focus-visible { background: #eef2ff; }
.pc-cite { font: inherit; font-weight: 600; color: #3730a3; background: #e0e7ff; border: 0; border-radius: 5px;
  padding: 0 3px; margin: 0 1px; cursor: pointer; }
.pc-cite:hover, .pc-cite:focus-visible { background: #c7d2fe; text-decoration: underline; }
#pc-chat .message-content .prose { font-size: 14.5px !important; line-height: 1.55; }
#pc-chat p.pc-note { border-left: 3px solid #b45309; padding-left: 8px; color: #78350f; }
#pc-chat p.pc-filter-note { border: 2px solid #b45309; background: #fffbeb; color: #78350f; border-radius: 8px;
  padding: 6px 10px; font-weight: 600; font-size: 15px; }
#pc-question textarea { font-size: 15px; border: 1px solid #64748b; border-radius: 10px;
  padding: 10px 12px; background: var(--background-fill-primary); }
#pc-mode label { flex: 1 1 100%; }
#pc-chat .pc-searched { display: block; font-size: 12px; color: var(--body-text-color-subdued); }
#pc-actions-row { gap: 8px; flex-wrap: wrap; }
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    neutral_hue="slate",
    font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],  # no web-font download
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
).set(block_title_background_fill="transparent", block_title_padding="0", block_title_text_weight="600",
      block_title_text_color="*neutral_800", block_label_background_fill="transparent",
      # WCAG AA (4.5:1) for helper text and labels: Soft's defaults (neutral_400/500) measured 2.56:1.
      block_info_text_color="*neutral_600", body_text_color_subdued="*neutral_600",
      block_label_text_color="*neutral_700", button_primary_background_fill="*primary_700",
      checkbox_label_background_fill_selected="*primary_700",
      button_primary_background_fill_hover="*primary_800", button_primary_text_color="white")

#: Loaded into <head>: the behaviour of citations, cards and the live region (ui/assets/chat.js).
HEAD = f"<script>{(ASSETS / 'chat.js').read_text(encoding='utf-8')}</script>"


# --- helpers ------------------------------------------------------------------------------------------

def _year(value: str | int | None, which: str) -> int | None:
    text = str(value or "").strip()
    if not text or text.lower() == ANY_YEAR:
        return None
    if not text.isdigit() or not 1000 <= int(text) <= 9999:
        raise BadQuestion(f"The {which} year must be a four-digit year such as 2024, not {text!r}.")
    return int(text)


def filters_from(year_from: str | int | None, year_to: str | int | None, files: list[str] | None) -> Filters | None:
    """Controls -> Filters; ``None`` when nothing restricts the search."""
    y_from, y_to = _year(year_from, "'from'"), _year(year_to, "'to'")
    if y_from and y_to and y_from > y_to:
        raise BadQuestion(f"The date range is empty: 'from' year {y_from} is after 'to' year {y_to}.")
    filters = Filters.years(y_from, y_to, files or [])
    return None if filters.is_empty() else filters


def valid_k(value: object, upper: int = 50) -> int:
    """The number of papers as a whole number in 1..``upper``, or a one-line BadQuestion.

    The ``ask`` endpoint is public API: a client can send any JSON, and k=100000 made one request
    rank the whole index.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadQuestion(f"k must be a whole number from 1 to {upper} (the number of papers).")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        number = math.nan
    if not number.is_integer() or not 1 <= number <= upper:
        raise BadQuestion(f"k must be a whole number from 1 to {upper} (the number of papers), not {str(value)[:20]!r}.")
    return int(number)
def describe_filters(filters: Filters | None, catalog: dict | None) -> str:
    """The active filter in words, with how many papers it leaves, e.g. for a refused filtered question."""
    if filters is None:
        return ""
    catalog = catalog or {}
    parts = []
    y_from = filters.date_from.year if filters.date_from else None
    y_to = filters.date_to.year if filters.date_to else None
    if y_from or y_to:
        span = (f"{y_from}" if y_from == y_to else f"{y_from}–{y_to}" if y_from and y_to
                else f"{y_from} or later" if y_from else f"{y_to} or earlier")
        years = catalog.get("years", {})
        inside = sum(n for y, n in years.items() if (not y_from or int(y) >= y_from) and (not y_to or int(y) <= y_to))
        undated = catalog.get("papers", 0) - catalog.get("dated", 0)
        parts.append(f"only papers dated {span} were searched ({inside} paper{'s' if inside != 1 else ''}); "
                     f"the {undated} undated papers are left out by any year filter")
    if filters.sources:
        labels = {s["name"]: s["label"] for s in catalog.get("sources", [])}
        names = [labels.get(name, name) for name in filters.sources]
        parts.append("only " + ("the file " if len(names) == 1 else f"{len(names)} files: ") + "; ".join(names))
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ". Clear the filters under Search options to search every paper."


def examples(engine: Engine) -> list[str]:
    """Example questions whose answering paper is in this index (a custom corpus gets none rather than duds)."""
    picked = []
    for question, must_contain in EXAMPLES:
        try:
            hits = engine.search(question, k=1)
        except RagError:
            return []
        if hits and must_contain.lower() in hits[0].title.lower():
            picked.append(question)
    return picked


def index_facts(engine: Engine) -> tuple[dict | None, str]:
    try:
        return engine.stats(), ""
    except RagError as exc:
        return None, str(exc)
    except Exception as exc:  # a down Chroma server must not stop the UI from starting
        log.warning("index stats failed: %s", exc)
        return None, f"index unavailable ({type(exc).__name__})"


def index_catalog(engine: Engine) -> dict:
    try:
        return engine.catalog()
    except Exception as exc:  # the filters fall back to no choices; the header already says what is wrong
        log.warning("index catalog failed: %s", exc)
        return {"papers": 0, "dated": 0, "years": {}, "sources": []}


def year_choices(catalog: dict) -> list[tuple[str, str]]:
    """"any" plus the years papers are dated with, newest first, each with its paper count."""
    return [("any", ANY_YEAR)] + [(f"{y} ({n} paper{'s' if n != 1 else ''})", y) for y, n in catalog["years"].items()]


def year_info(catalog: dict) -> str:
    years = sorted(catalog["years"])
    span = f", {years[0]}–{years[-1]}" if len(years) > 1 else (f", {years[0]}" if years else "")
    return (f"{catalog['dated']} of {catalog['papers']} papers are dated{span}; a year filter leaves out the "
            f"{catalog['papers'] - catalog['dated']} undated ones.")


def _mode_choices(engine: Engine) -> list[tuple[str, str]]:
    choices = []
    for mode in engine.available_modes():
        label = f"auto ({engine.resolve_mode(mode)})" if mode == "auto" else f"{mode} · {MODE_HELP.get(mode, mode)}"
        choices.append((label, mode))
    return choices


def history_secret(engine: Engine) -> str | None:
    """The key that encrypts the stored history (gr.BrowserState), kept in the index folder so history
    survives a server restart as well as a reload; ``None`` (a per-process key) if it cannot be kept."""
    path = Path(engine.settings.index_dir) / "ui-history.key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def session_for(engine: Engine, turns: list[dict]) -> ChatSession:
    """A chat session that continues ``turns`` (restored from the browser), so follow-ups keep their subject."""
    session = engine.chat()
    session.history = [(str(t.get("standalone") or t.get("question", "")), str(t.get("answer", "")))
                       for t in turns][-session.max_turns:]
    return session


def export_files(turns: list[dict]) -> tuple[str | None, str | None]:
    """The conversation as Markdown with references and the cited papers as BibTeX, written to temp files."""
    if not turns:
        return None, None
    folder = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
    markdown = folder / "paperchat-conversation.md"
    markdown.write_text(export.conversation_markdown(turns), encoding="utf-8")
    cited = [c for t in turns for c in t.get("citations") or []]
    bib = folder / "paperchat-references.bib"
    bib.write_text(export.bibtex(cited) or "% The conversation cites no paper yet.\n", encoding="utf-8")
    return str(markdown), str(bib)


def _valid_turns(value) -> list[dict]:
    """The stored history if it has the expected shape, else nothing (storage is the user's to edit)."""
    if not isinstance(value, list):
        return []
    return [t for t in value if isinstance(t, dict) and isinstance(t.get("question"), str)
            and isinstance(t.get("answer"), str)][-MAX_TURNS:]


# --- the app ------------------------------------------------------------------------------------------

def build(engine: Engine) -> gr.Blocks:
    """The Blocks app. Index facts, filter choices and example questions are read once, at start-up."""
    settings = engine.settings
    stats, problem = index_facts(engine)
    catalog = index_catalog(engine) if stats else {"papers": 0, "dated": 0, "years": {}, "sources": []}
    modes = engine.available_modes()
    default_mode = settings.llm if settings.llm in modes else "auto"
    sample = examples(engine) if stats and stats.get("papers") else []
    file_labels = {s["name"]: s["label"] for s in catalog["sources"]}

    def header_for(mode: str) -> str:
        try:
            resolved = engine.resolve_mode(mode)
        except ValueError:
            resolved = mode
        return render.header(stats, resolved, problem)

    def idle(turns: list[dict]) -> tuple:
        """The controls when no answer is running: Ask enabled, Stop hidden, exports of ``turns``."""
        markdown, bib = export_files(turns)
        return (gr.update(interactive=True), gr.update(visible=False),
                gr.update(value=markdown, interactive=bool(markdown)), gr.update(value=bib, interactive=bool(bib)))

    def respond(question: str, turns: list[dict], session: ChatSession | None, mode: str, k: float,
                year_from: str | None, year_to: str | None, files: list[str] | None) -> Iterator[tuple]:
        """Stream one answer into the chat, then show its cards. Errors become one chat line.

        Outputs: chatbot, sources, question box, session, stored turns, live region, the asked question (for
        Stop), Ask, Stop, exports (2).
        """
        turns = _valid_turns(turns)
        session = session or session_for(engine, turns)
        text = question or ""
        messages = render.chat_messages(turns)
        messages.append({"role": "user", "content": text})
        busy = (gr.update(interactive=False), gr.update(visible=True), gr.skip(), gr.skip())
        messages.append({"role": "assistant", "content": SEARCHING})
        yield (messages, gr.skip(), "", session, gr.skip(), SEARCHING, text, *busy)
        stream = None
        try:
            filters = filters_from(year_from, year_to, files)
            if mode not in modes:
                raise BadQuestion(f"Unknown answer mode {str(mode)[:20]!r}: choose one of {', '.join(modes)}.")
            answer, partial = None, ""
            stream = session.stream(text, k=valid_k(k), filters=filters, llm=mode)
            for item in stream:
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    partial += item
                    messages[-1] = {"role": "assistant", "content": partial}
                    yield (messages, gr.skip(), "", session, gr.skip(), gr.skip(), gr.skip(), *busy)
            assert answer is not None
            turn = render.turn_from(answer, describe_filters(filters, catalog), file_labels)
            turns = (turns + [turn])[-MAX_TURNS:]
            yield (render.chat_messages(turns), render.sources_panel(turns), "", session, turns,
                   render.live_text(turn), "", *idle(turns))
        except RagError as exc:
            message = render.error_markdown(redact(str(exc), settings))
            messages[-1] = {"role": "assistant", "content": message}
            yield (messages, gr.skip(), text, session, gr.skip(), message, "", *idle(turns))
        except Exception as exc:  # never a stack trace in the chat; the log keeps it
            log.error("answering failed: %s", redact(f"{type(exc).__name__}: {exc}", settings))
            message = render.error_markdown(redact(
                f"Something went wrong while answering ({type(exc).__name__}: {exc}). Details are in the server log.",
                settings))
            messages[-1] = {"role": "assistant", "content": message}
            yield (messages, gr.skip(), text, session, gr.skip(), message, "", *idle(turns))
        finally:
            # A closed tab (or a new question) closes this generator: close the engine's stream too, so
            # an LLM call and the local model's lock are released now rather than at garbage collection.
            if stream is not None:
                stream.close()

    def stopped(turns: list[dict], asked: str) -> tuple:
        """Stop: drop the unfinished answer, give the question back, re-enable Ask."""
        turns = _valid_turns(turns)
        return (render.chat_messages(turns), asked, "Stopped.", *idle(turns))

    def restore(turns: list[dict]) -> tuple:
        """Page load: the conversation stored in this browser, its cards, and a session that continues it."""
        turns = _valid_turns(turns)
        panel = render.sources_panel(turns) if turns else render.empty_sources()
        return (render.chat_messages(turns), panel, session_for(engine, turns), turns, *idle(turns)[2:])

    def new_chat() -> tuple:
        return [], render.empty_sources(), "", None, [], "New chat started.", "", *idle([])

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    def rate(turns: list[dict], evt: gr.LikeData) -> str:
        """Thumbs up/down on an answer: stored with its question and citations in the index folder."""
        turns = _valid_turns(turns)
        index = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else -1)
        turn_index = index // 2 if isinstance(index, int) and index % 2 == 1 else -1
        if not 0 <= turn_index < len(turns) or evt.liked is None:
            return gr.skip()
        turn = turns[turn_index]
        liked = evt.liked is True or evt.liked == "Like"
        try:
            engine.record_feedback(turn["question"], turn["answer"], turn.get("citations") or [], liked,
                                   turn=turn_index, mode=turn.get("footer", ""))
        except RagError as exc:
            return f"Feedback not saved: {exc}"
        return "Thanks: your " + ("thumbs up" if liked else "thumbs down") + " was saved."

    def ask(question: str, k: int = settings.top_k, year_from: int | None = None, year_to: int | None = None,
            llm: str = default_mode) -> tuple[str, list[dict]]:
        """Answer one question (no chat history). Returns the answer text and the cited papers.

        Every argument is validated here: this endpoint is reachable by any Gradio client with any JSON.
        """
        try:
            if not isinstance(question, str):
                raise BadQuestion("The question must be text.")
            if llm not in modes:
                raise BadQuestion(f"Unknown answer mode {str(llm)[:20]!r}: choose one of {', '.join(modes)}.")
            answer = engine.ask(question, k=valid_k(k), filters=filters_from(year_from, year_to, None), llm=llm)
        except (RagError, ValueError) as exc:
            raise gr.Error(redact(" ".join(str(exc).split()), settings)) from None
        return answer.text, [c.to_dict() for c in answer.citations]

    with gr.Blocks(title="paperchat", analytics_enabled=False) as demo:
        session = gr.State(None)
        asked = gr.State("")
        turns = gr.BrowserState([], storage_key=HISTORY_KEY, secret=history_secret(engine))
        header = gr.HTML(header_for(default_mode), elem_id="pc-header")
        live = gr.HTML("", elem_id="pc-live")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=230, elem_id="pc-controls"):
                gr.Markdown("Search options", elem_id="pc-controls-title")
                mode = gr.Radio(_mode_choices(engine), value=default_mode, label="Answer mode", elem_id="pc-mode",
                                info="auto: the OpenAI-compatible LLM when configured, else quoted evidence")
                k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Sources (k)", elem_id="pc-k")
                with gr.Row():
                    year_from = gr.Dropdown(year_choices(catalog), value=ANY_YEAR, label="From year",
                                            elem_id="pc-year-from", min_width=100)
                    year_to = gr.Dropdown(year_choices(catalog), value=ANY_YEAR, label="To year",
                                          elem_id="pc-year-to", min_width=100)
                gr.Markdown(year_info(catalog), elem_id="pc-year-info", elem_classes=["pc-help"])
                files = gr.Dropdown([(s["label"], s["name"]) for s in catalog["sources"]], value=[], multiselect=True,
                                    label="Corpus files", info="Empty = all files.", elem_id="pc-files")
                new = gr.Button("New chat", elem_id="pc-new")
                with gr.Row(elem_id="pc-actions-row"):
                    export_md = gr.DownloadButton("Export Markdown", value=None, interactive=False, size="sm",
                                                  elem_id="pc-export-md")
                    export_bib = gr.DownloadButton("Export BibTeX", value=None, interactive=False, size="sm",
                                                   elem_id="pc-export-bib")
            with gr.Column(scale=5, min_width=380):
                chatbot = gr.Chatbot(
                    elem_id="pc-chat", label="Conversation", show_label=False, height=620, buttons=["copy"],
                    placeholder="**Ask about the indexed papers.** Answers quote the abstracts and cite paper titles.",
                    examples=[{"text": q, "display_text": q} for q in sample] or None,
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(placeholder="Ask a question about the papers…", label="Your question",
                                          show_label=False, scale=6, lines=1, max_lines=4, autofocus=True,
                                          elem_id="pc-question", container=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="pc-send")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, visible=False, elem_id="pc-stop")
                feedback_note = gr.Markdown("", elem_id="pc-feedback-note")
            with gr.Column(scale=4, min_width=320, elem_id="pc-sources-panel"):
                sources = gr.HTML(render.empty_sources(), elem_id="pc-sources")

        inputs = [question, turns, session, mode, k, year_from, year_to, files]
        outputs = [chatbot, sources, question, session, turns, live, asked, send, stop, export_md, export_bib]
        answer_opts = {"concurrency_id": "answer", "concurrency_limit": 1, "api_visibility": "private",
                       "show_progress": "hidden"}
        private = {"api_visibility": "private"}
        # trigger_mode="once": Enter while an answer is running is ignored, as the disabled Ask button is.
        asks = [question.submit(respond, inputs, outputs, trigger_mode="once", **answer_opts),
                send.click(respond, inputs, outputs, trigger_mode="once", **answer_opts),
                chatbot.example_select(pick_example, None, question, **private).then(respond, inputs, outputs,
                                                                                    **answer_opts)]
        stop.click(stopped, [turns, asked], [chatbot, question, live, send, stop, export_md, export_bib],
                   cancels=asks, queue=False, **private)
        new.click(new_chat, None, outputs, cancels=asks, **private)
        chatbot.clear(new_chat, None, outputs, cancels=asks, **private)  # the bin icon also forgets the history
        chatbot.like(rate, turns, feedback_note, **private)
        mode.change(header_for, mode, header, **private)
        demo.load(restore, turns, [chatbot, sources, session, turns, export_md, export_bib], **private)
        gr.api(ask, api_name="ask", concurrency_id="answer", concurrency_limit=1)
    return demo


# --- serving ------------------------------------------------------------------------------------------

def parse_auth(value: str) -> tuple[str, str] | None:
    """``RAG_UI_AUTH=user:password`` -> ("user", "password"); empty -> no login."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise RagError("RAG_UI_AUTH must look like user:password (both non-empty).")
    return user, password


def check_password(auth: tuple[str, str]):
    """Gradio's login check for one user, comparing in constant time."""
    user, password = auth

    def check(username: str, given: str) -> bool:
        same_user = hmac.compare_digest(str(username).encode(), user.encode())
        return hmac.compare_digest(str(given).encode(), password.encode()) and same_user

    return check


class LoginThrottleMiddleware:
    """Pure ASGI middleware: failed UI sign-ins per client address lock that client out with 429 for 1, 2,
    4 ... s (up to 5 min) after the first few, so a password cannot be guessed at request speed."""

    def __init__(self, app, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            from fastapi.responses import JSONResponse

            seconds = math.ceil(wait)
            response = JSONResponse({"detail": f"Too many failed sign-ins: try again in {seconds} s."},
                                    status_code=429, headers={"Retry-After": str(seconds)})
            return await response(scope, receive, send)
        status: list[int] = []

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            self.throttle.succeeded(client)
        elif status and 400 <= status[0] < 500:
            self.throttle.failed(client)


def login_session_check(mounted: dict):
    """Whether a request carries a signed-in session of the mounted Gradio app (its login cookie).

    Gradio keeps issued session tokens in ``App.tokens`` and sets them as ``access-token[-unsecure]-<id>``
    cookies; this mirrors its own ``get_current_user`` so the API beside the UI accepts the same login.
    ``mounted["app"]`` is the Gradio app, known once it is mounted; until then no request passes.
    """

    def check(request) -> bool:
        server = mounted.get("app")
        tokens = getattr(server, "tokens", None)
        if not tokens:
            return False
        cookie_id = getattr(server, "cookie_id", "")
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            value = request.cookies.get(name)
            if value and value in tokens:
                return True
        return False

    return check


def create_app(engine: Engine, auth: tuple[str, str] | None = None):
    """The HTTP API's FastAPI app (``/v1``, ``/healthz``) with the chat mounted at ``/``.

    With ``auth`` the API routes accept the UI's login session or the bearer token, never neither; failed
    sign-ins are throttled per client.
    """
    from gradio.routes import App as GradioApp

    from rag.api import create_app as create_api

    blocks = build(engine)
    mounted: dict = {}
    app = create_api(engine, login_check=login_session_check(mounted) if auth else None)
    if auth:
        app.add_middleware(LoginThrottleMiddleware, throttle=LoginThrottle())
    app = gr.mount_gradio_app(app, blocks, path="/", auth=check_password(auth) if auth else None, theme=THEME,
                              css=CSS, head=HEAD, footer_links=[],
                              auth_message="paperchat: sign in with the RAG_UI_AUTH credentials.",
                              show_error=True)
    mounted["app"] = next((r.app for r in app.routes if isinstance(getattr(r, "app", None), GradioApp)), None)
    return app


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise RagError(f"Cannot listen on {host}:{port} ({exc.strerror}): pass --port or set RAG_PORT.") from None


def serve(engine: Engine, host: str | None = None, port: int | None = None) -> None:
    """Start the UI + HTTP API with uvicorn and print the URL (``rag serve``, ``make run``)."""
    import uvicorn

    host = host or engine.settings.host
    port = port or engine.settings.port
    auth = parse_auth(engine.settings.ui_auth)
    warning = exposure_warning(engine.settings, host, ui=True)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    _check_port(host, port)
    print("Loading the index and models…", file=sys.stderr)
    app = create_app(engine, auth=auth)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    print(f"paperchat is running at http://{shown}:{port}/  (HTTP API under /v1; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
