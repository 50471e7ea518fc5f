"""The browser chat: a Gradio Blocks app over :class:`rag.Engine`, mounted on the HTTP API's FastAPI app.

Only the engine's public methods are called (``chat``, ``stats``, ``search``, ``ask``,
``available_modes``, ``resolve_mode``), so the UI answers exactly like the CLI and the API. Each
browser tab keeps its own :class:`rag.engine.ChatSession` in ``gr.State``: follow-ups use that tab's
history and nothing is shared between users.

No ``from __future__ import annotations`` here: ``gr.api`` reads the ``ask`` endpoint's schema from
real (non-string) type hints.
"""

import ipaddress
import logging
import socket
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from rag import offline

offline.apply()  # before gradio is imported: no analytics, no hub calls

import gradio as gr  # noqa: E402

from rag.engine import ChatSession, Engine  # noqa: E402
from rag.errors import BadQuestion, RagError  # noqa: E402
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
YEARS = [ANY_YEAR] + [str(y) for y in range(date.today().year, 1999, -1)]

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
.pc-header { display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  padding: 14px 20px; border-radius: 14px; color: #fff;
  background: linear-gradient(120deg, #312e81 0%, #4f46e5 55%, #7c3aed 100%); }
.pc-brand { display: flex; align-items: center; gap: 12px; }
.pc-logo { display: inline-flex; padding: 7px; border-radius: 10px; background: rgba(255,255,255,.15); color: #fff; }
.pc-header h1 { margin: 0; font-size: 22px; font-weight: 700; color: #fff; letter-spacing: -0.01em; }
.pc-header p { margin: 2px 0 0; font-size: 13px; opacity: .85; color: #fff; }
.pc-facts { display: flex; gap: 8px; flex-wrap: wrap; }
.pc-fact { background: rgba(255,255,255,.14); border: 1px solid rgba(255,255,255,.22); border-radius: 999px;
  padding: 4px 11px; font-size: 12.5px; color: #fff; white-space: nowrap; }
.pc-fact b { color: #fff; }
.pc-warn { background: #fde68a; color: #78350f; border-color: #f59e0b; }
.pc-warn code { color: #78350f; }
#pc-controls-title { font-weight: 600; font-size: 14px; margin: 2px 0 -4px; }
#pc-sources-panel { min-height: 620px; }
.pc-sources { display: flex; flex-direction: column; gap: 10px; max-height: 680px; overflow-y: auto; padding-right: 4px; }
.pc-sources-head { display: flex; justify-content: space-between; align-items: baseline; font-size: 13px;
  color: var(--body-text-color-subdued); padding: 2px 2px 0; }
.pc-sources-head b { font-size: 14px; color: var(--body-text-color); }
.pc-empty { border: 1px dashed var(--border-color-primary); border-radius: 12px; padding: 28px 18px; text-align: center;
  color: var(--body-text-color-subdued); font-size: 14px; }
.pc-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 11px 13px 10px;
  background: var(--background-fill-primary); box-shadow: 0 1px 2px rgba(15,23,42,.05); }
.pc-card-cited { border-left: 4px solid #4f46e5; }
.pc-card-head { display: flex; align-items: flex-start; gap: 8px; }
.pc-rank { flex: none; width: 22px; height: 22px; border-radius: 50%; background: var(--background-fill-secondary);
  font-size: 12px; font-weight: 600; display: inline-flex; align-items: center; justify-content: center;
  color: var(--body-text-color-subdued); }
.pc-title { flex: 1; font-weight: 600; font-size: 14px; line-height: 1.35; color: var(--body-text-color); }
.pc-title a { color: #4338ca; text-decoration: none; }
.pc-title a:hover { text-decoration: underline; }
.pc-badge { flex: none; font-size: 11px; font-weight: 600; border-radius: 999px; padding: 2px 8px; white-space: nowrap; }
.pc-cited { background: #e0e7ff; color: #3730a3; }
.pc-uncited { background: var(--background-fill-secondary); color: var(--body-text-color-subdued); font-weight: 500; }
.pc-meta { font-size: 12px; color: var(--body-text-color-subdued); margin: 5px 0 0 30px; }
.pc-file { font-family: var(--font-mono); font-size: 11px; }
.pc-bar { height: 3px; border-radius: 2px; background: var(--background-fill-secondary); margin: 6px 0 0 30px; overflow: hidden; }
.pc-bar span { display: block; height: 100%; background: linear-gradient(90deg, #818cf8, #4f46e5); }
.pc-snippet { font-size: 13px; line-height: 1.5; margin: 7px 0 0 30px; color: var(--body-text-color); }
.pc-snippet mark { background: #fef08a; color: inherit; padding: 0 1px; border-radius: 2px; }
#pc-chat .message-content .prose { font-size: 14.5px !important; line-height: 1.55; }
#pc-chat .message-content sub { opacity: .6; font-size: 11.5px; }
#pc-question textarea { font-size: 15px; border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 10px 12px; background: var(--background-fill-primary); }
#pc-mode label { flex: 1 1 100%; }
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    neutral_hue="slate",
    font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],  # no web-font download
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
).set(block_title_background_fill="transparent", block_title_padding="0", block_title_text_weight="600",
      block_title_text_color="*neutral_700", block_label_background_fill="transparent")


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


def _mode_choices(engine: Engine) -> list[tuple[str, str]]:
    choices = []
    for mode in engine.available_modes():
        label = f"auto ({engine.resolve_mode(mode)})" if mode == "auto" else f"{mode} · {MODE_HELP.get(mode, mode)}"
        choices.append((label, mode))
    return choices


# --- the app ------------------------------------------------------------------------------------------

def build(engine: Engine) -> gr.Blocks:
    """The Blocks app. Index facts and example questions are read once, at start-up."""
    settings = engine.settings
    stats, problem = index_facts(engine)
    modes = engine.available_modes()
    default_mode = settings.llm if settings.llm in modes else "auto"
    sample = examples(engine) if stats and stats.get("papers") else []

    def header_for(mode: str) -> str:
        try:
            resolved = engine.resolve_mode(mode)
        except ValueError:
            resolved = mode
        return render.header(stats, resolved, problem)

    def respond(question: str, messages: list, session: ChatSession | None, mode: str, k: float,
                year_from: str | None, year_to: str | None, files: list[str] | None) -> Iterator[tuple]:
        """Stream one answer into the chat, then show its source cards. Errors become one chat line."""
        messages = list(messages or [])
        session = session or engine.chat()
        text = question or ""
        if text.strip():
            messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": "_Searching the papers…_"})
        yield messages, gr.skip(), "", session
        try:
            filters = filters_from(year_from, year_to, files)
            answer, partial = None, ""
            for item in session.stream(text, k=int(k), filters=filters, llm=mode):
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    partial += item
                    messages[-1] = {"role": "assistant", "content": partial}
                    yield messages, gr.skip(), "", session
            assert answer is not None
            messages[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
            yield messages, render.source_cards(answer), "", session
        except RagError as exc:
            messages[-1] = {"role": "assistant", "content": render.error_markdown(str(exc))}
            yield messages, gr.skip(), text, session
        except Exception as exc:  # never a stack trace in the chat; the log keeps it
            log.exception("answering failed")
            messages[-1] = {"role": "assistant", "content": render.error_markdown(
                f"Something went wrong while answering ({type(exc).__name__}: {exc}). Details are in the server log.")}
            yield messages, gr.skip(), text, session

    def new_chat() -> tuple:
        return [], render.empty_sources(), "", None

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    def ask(question: str, k: int = settings.top_k, year_from: int | None = None, year_to: int | None = None,
            llm: str = default_mode) -> tuple[str, list[dict]]:
        """Answer one question (no chat history). Returns the answer text and the cited papers."""
        try:
            answer = engine.ask(question, k=k, filters=filters_from(year_from, year_to, None), llm=llm)
        except (RagError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        return answer.text, [{"number": c.number, **c.to_dict()} for c in answer.citations]

    with gr.Blocks(title="paperchat", analytics_enabled=False) as demo:
        session = gr.State(None)
        header = gr.HTML(header_for(default_mode), elem_id="pc-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=230, elem_id="pc-controls"):
                gr.Markdown("Search options", elem_id="pc-controls-title")
                mode = gr.Radio(_mode_choices(engine), value=default_mode, label="Answer mode", elem_id="pc-mode",
                                info="auto: the OpenAI-compatible LLM when configured, else quoted evidence")
                k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Sources (k)", elem_id="pc-k")
                with gr.Row():
                    year_from = gr.Dropdown(YEARS, value=ANY_YEAR, label="From year", allow_custom_value=True,
                                            elem_id="pc-year-from", min_width=100)
                    year_to = gr.Dropdown(YEARS, value=ANY_YEAR, label="To year", allow_custom_value=True,
                                          elem_id="pc-year-to", min_width=100)
                files = gr.Dropdown((stats or {}).get("sources", []), value=[], multiselect=True, label="Corpus files",
                                    info="Empty = all files. A year excludes undated papers.", elem_id="pc-files")
                new = gr.Button("New chat", elem_id="pc-new")
            with gr.Column(scale=5, min_width=380):
                chatbot = gr.Chatbot(
                    elem_id="pc-chat", show_label=False, height=620, buttons=["copy"], feedback_options=None,
                    placeholder="**Ask about the indexed papers.** Answers quote the abstracts and cite paper titles.",
                    examples=[{"text": q, "display_text": q} for q in sample] or None,
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(placeholder="Ask a question about the papers…", show_label=False, scale=6,
                                          lines=1, max_lines=4, autofocus=True, elem_id="pc-question", container=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="pc-send")
            with gr.Column(scale=4, min_width=320, elem_id="pc-sources-panel"):
                sources = gr.HTML(render.empty_sources(), elem_id="pc-sources")

        inputs = [question, chatbot, session, mode, k, year_from, year_to, files]
        outputs = [chatbot, sources, question, session]
        answer_opts = {"concurrency_id": "answer", "concurrency_limit": 1, "api_visibility": "private",
                       "show_progress": "hidden"}
        question.submit(respond, inputs, outputs, **answer_opts)
        send.click(respond, inputs, outputs, **answer_opts)
        chatbot.example_select(pick_example, None, question, api_visibility="private").then(
            respond, inputs, outputs, **answer_opts)
        new.click(new_chat, None, outputs, api_visibility="private")
        chatbot.clear(new_chat, None, outputs, api_visibility="private")  # the bin icon also forgets the history
        mode.change(header_for, mode, header, api_visibility="private")
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(engine: Engine, auth: tuple[str, str] | None = None):
    """The HTTP API's FastAPI app (``/v1``, ``/healthz``) with the chat mounted at ``/``."""
    try:
        from rag.api import create_app as create_api
    except ImportError as exc:
        if exc.name != "rag.api":
            raise
        from fastapi import FastAPI

        app = FastAPI(title="paperchat")
    else:
        app = create_api(engine)
    blocks = build(engine)
    return gr.mount_gradio_app(app, blocks, path="/", auth=auth, theme=THEME, css=CSS, footer_links=[],
                               auth_message="paperchat: sign in with the RAG_UI_AUTH credentials.",
                               show_error=True)


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
    if not auth and not is_loopback(host):
        print(f"warning: serving on {host} without a login: anyone who can reach this port can use the chat. "
              "Set RAG_UI_AUTH=user:password.", file=sys.stderr)
    _check_port(host, port)
    print("Loading the index and models…", file=sys.stderr)
    app = create_app(engine, auth=auth)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    print(f"paperchat is running at http://{shown}:{port}/  (HTTP API under /v1; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
