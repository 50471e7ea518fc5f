"""The browser chat: a Gradio Blocks app over :class:`rag.Engine`, mounted on the HTTP API's FastAPI app.

This module lays out the components and wires them to the event functions of :mod:`ui.handlers`; the
look lives in ``ui/assets/chat.css`` and the in-page behaviour in ``ui/assets/chat.js``, both read once
at start. ``serve`` is what ``rag serve`` runs.
"""

import socket
import sys
from pathlib import Path

import gradio as gr

from rag.engine import Engine
from rag.errors import RagError
from rag.security import LoginThrottle, exposure_warning
from ui import handlers, render
from ui.controls import ANY_YEAR, mode_choices, year_choices, year_info
from ui.facts import IndexFacts
from ui.handlers import ChatHandlers
from ui.history import HISTORY_KEY, history_secret
from ui.login import LoginThrottleMiddleware, check_password, login_session_check, parse_auth

ASSETS = Path(__file__).resolve().parent / "assets"

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

#: The page's styles (ui/assets/chat.css).
CSS = (ASSETS / "chat.css").read_text(encoding="utf-8")
#: Loaded into <head>: the behaviour of citations, cards and the live region (ui/assets/chat.js).
HEAD = f"<script>{(ASSETS / 'chat.js').read_text(encoding='utf-8')}</script>"


def build(engine: Engine) -> gr.Blocks:
    """The Blocks app. Index facts, filter choices and example questions are read once, at start-up."""
    facts = IndexFacts.read(engine)
    chat = ChatHandlers(engine, facts)
    catalog, default_mode = facts.catalog, chat.default_mode

    with gr.Blocks(title="paperchat", analytics_enabled=False) as demo:
        session = gr.State(None)
        asked = gr.State("")
        turns = gr.BrowserState([], storage_key=HISTORY_KEY, secret=history_secret(engine))
        header = gr.HTML(chat.header_for(default_mode), elem_id="pc-header")
        live = gr.HTML("", elem_id="pc-live")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=230, elem_id="pc-controls"):
                gr.Markdown("Search options", elem_id="pc-controls-title")
                mode = gr.Radio(mode_choices(engine), value=default_mode, label="Answer mode", elem_id="pc-mode",
                                info="auto: the OpenAI-compatible LLM when configured, else quoted evidence")
                k = gr.Slider(1, 20, value=engine.settings.top_k, step=1, label="Sources (k)", elem_id="pc-k")
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
                    examples=[{"text": q, "display_text": q} for q in facts.examples] or None,
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
        asks = [question.submit(chat.respond, inputs, outputs, trigger_mode="once", **answer_opts),
                send.click(chat.respond, inputs, outputs, trigger_mode="once", **answer_opts),
                chatbot.example_select(handlers.pick_example, None, question, **private)
                       .then(chat.respond, inputs, outputs, **answer_opts)]
        stop.click(handlers.stopped, [turns, asked], [chatbot, question, live, send, stop, export_md, export_bib],
                   cancels=asks, queue=False, **private)
        new.click(handlers.new_chat, None, outputs, cancels=asks, **private)
        # the bin icon also forgets the history
        chatbot.clear(handlers.new_chat, None, outputs, cancels=asks, **private)
        chatbot.like(chat.rate, turns, feedback_note, **private)
        mode.change(chat.header_for, mode, header, **private)
        demo.load(chat.restore, turns, [chatbot, sources, session, turns, export_md, export_bib], **private)
        gr.api(chat.ask_endpoint(), api_name="ask", concurrency_id="answer", concurrency_limit=1)
    return demo


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
