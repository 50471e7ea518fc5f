"""The event functions without a browser: what they put in the chat when the engine misbehaves."""

from __future__ import annotations

from ui.facts import IndexFacts
from ui.handlers import SEARCHING, ChatHandlers


class _SilentSession:
    """A chat session whose answer stream ends without an Answer (a broken engine contract)."""

    history: list = []

    def stream(self, *args, **kwargs):
        yield from ()


def test_a_stream_without_an_answer_is_one_chat_line_not_a_crash(engine):
    chat = ChatHandlers(engine, IndexFacts(stats=None, problem=""))
    frames = list(chat.respond("What is Tower+?", [], _SilentSession(), chat.default_mode, 5, "any", "any", []))
    assert frames[0][5] == SEARCHING, "the live region says the search started"
    last = frames[-1][0][-1]["content"]
    assert last.startswith("Sorry: Something went wrong while answering (RuntimeError")
    assert "the answer stream ended without an answer" in last and frames[-1][5] == last
    assert frames[-1][2] == "What is Tower+?", "the question is given back"
