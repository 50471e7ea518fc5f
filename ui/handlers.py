"""The chat's event functions: what happens on Ask, Stop, New chat, page load, an example click, a thumb,
and the public ``ask`` endpoint. ``ui/app.py`` wires them to the components.

Only the engine's public methods are called (``chat``, ``ask``, ``resolve_mode``, ``available_modes``,
``record_feedback``), so the UI answers exactly like the CLI and the API. Each browser tab keeps its own
:class:`rag.engine.ChatSession` in ``gr.State``: follow-ups use that tab's history and nothing is shared
between users.

No ``from __future__ import annotations`` here: Gradio reads the event data parameters (``gr.LikeData``,
``gr.SelectData``) and the ``ask`` endpoint's schema from real (non-string) type hints.
"""

import logging
from collections.abc import Callable, Iterator

import gradio as gr

from rag.engine import ChatSession, Engine
from rag.errors import BadQuestion, RagError
from rag.security import redact
from rag.types import Answer
from ui import render
from ui.controls import describe_filters, filters_from, valid_k, valid_mode
from ui.facts import IndexFacts
from ui.history import MAX_TURNS, export_files, session_for, valid_turns

log = logging.getLogger("paperchat.ui")

SEARCHING = "Searching the papers…"


def idle(turns: list[dict]) -> tuple:
    """The controls when no answer is running: Ask enabled, Stop hidden, exports of ``turns``."""
    markdown, bib = export_files(turns)
    return (gr.update(interactive=True), gr.update(visible=False),
            gr.update(value=markdown, interactive=bool(markdown)), gr.update(value=bib, interactive=bool(bib)))


def new_chat() -> tuple:
    return [], render.empty_sources(), "", None, [], "New chat started.", "", *idle([])


def pick_example(evt: gr.SelectData) -> str:
    value = evt.value
    return value.get("text", "") if isinstance(value, dict) else str(value)


def stopped(turns: list[dict], asked: str) -> tuple:
    """Stop: drop the unfinished answer, give the question back, re-enable Ask."""
    turns = valid_turns(turns)
    return (render.chat_messages(turns), asked, "Stopped.", *idle(turns))


class ChatHandlers:
    """The event functions that need the engine and what was read from the index at start-up."""

    def __init__(self, engine: Engine, facts: IndexFacts) -> None:
        self.engine = engine
        self.facts = facts
        self.modes = engine.available_modes()
        self.default_mode = engine.settings.llm if engine.settings.llm in self.modes else "auto"

    def header_for(self, mode: str) -> str:
        try:
            resolved = self.engine.resolve_mode(mode)
        except ValueError:
            resolved = mode
        return render.header(self.facts.stats, resolved, self.facts.problem)

    def respond(self, question: str, turns: list[dict], session: ChatSession | None, mode: str, k: float,
                year_from: str | None, year_to: str | None, files: list[str] | None) -> Iterator[tuple]:
        """Stream one answer into the chat, then show its cards. Errors become one chat line.

        Outputs: chatbot, sources, question box, session, stored turns, live region, the asked question (for
        Stop), Ask, Stop, exports (2).
        """
        settings = self.engine.settings
        turns = valid_turns(turns)
        session = session or session_for(self.engine, turns)
        text = question or ""
        messages = render.chat_messages(turns)
        messages.append({"role": "user", "content": text})
        busy = (gr.update(interactive=False), gr.update(visible=True), gr.skip(), gr.skip())
        messages.append({"role": "assistant", "content": SEARCHING})
        yield (messages, gr.skip(), "", session, gr.skip(), SEARCHING, text, *busy)
        stream = None
        try:
            filters = filters_from(year_from, year_to, files)
            llm = valid_mode(mode, self.modes)
            answer, partial = None, ""
            stream = session.stream(text, k=valid_k(k), filters=filters, llm=llm)
            for item in stream:
                if isinstance(item, Answer):
                    answer = item
                elif item:
                    partial += item
                    messages[-1] = {"role": "assistant", "content": partial}
                    yield (messages, gr.skip(), "", session, gr.skip(), gr.skip(), gr.skip(), *busy)
            if answer is None:
                raise RuntimeError("the answer stream ended without an answer")
            turn = render.turn_from(answer, describe_filters(filters, self.facts.catalog), self.facts.file_labels)
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

    def restore(self, turns: list[dict]) -> tuple:
        """Page load: the conversation stored in this browser, its cards, and a session that continues it."""
        turns = valid_turns(turns)
        panel = render.sources_panel(turns) if turns else render.empty_sources()
        return (render.chat_messages(turns), panel, session_for(self.engine, turns), turns, *idle(turns)[2:])

    def rate(self, turns: list[dict], evt: gr.LikeData) -> str:
        """Thumbs up/down on an answer: stored with its question and citations in the index folder."""
        turns = valid_turns(turns)
        index = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else -1)
        turn_index = index // 2 if isinstance(index, int) and index % 2 == 1 else -1
        if not 0 <= turn_index < len(turns) or evt.liked is None:
            return gr.skip()
        turn = turns[turn_index]
        liked = evt.liked is True or evt.liked == "Like"
        try:
            self.engine.record_feedback(turn["question"], turn["answer"], turn.get("citations") or [], liked,
                                        turn=turn_index, mode=turn.get("footer", ""))
        except RagError as exc:
            return f"Feedback not saved: {exc}"
        return "Thanks: your " + ("thumbs up" if liked else "thumbs down") + " was saved."

    def ask_endpoint(self) -> Callable[..., tuple[str, list[dict]]]:
        """The public ``ask`` endpoint; its defaults (k, answer mode) come from this engine's settings."""
        engine, modes = self.engine, self.modes

        def ask(question: str, k: int = engine.settings.top_k, year_from: int | None = None,
                year_to: int | None = None, llm: str = self.default_mode) -> tuple[str, list[dict]]:
            """Answer one question (no chat history). Returns the answer text and the cited papers.

            Every argument is validated here: this endpoint is reachable by any Gradio client with any JSON.
            """
            try:
                if not isinstance(question, str):
                    raise BadQuestion("The question must be text.")
                answer = engine.ask(question, k=valid_k(k), filters=filters_from(year_from, year_to, None),
                                    llm=valid_mode(llm, modes))
            except (RagError, ValueError) as exc:
                raise gr.Error(redact(" ".join(str(exc).split()), engine.settings)) from None
            return answer.text, [c.to_dict() for c in answer.citations]

        return ask
