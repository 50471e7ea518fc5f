"""A conversation with the engine: each follow-up is condensed into a standalone question before retrieval.

``Engine.chat()`` returns a :class:`ChatSession`; the CLI's ``rag chat``, each UI tab and each HTTP
chat request hold one. The rules that condense a follow-up live in :mod:`rag.chat`.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.chat import Plan, Turn, condense
from rag.config import LLMMode
from rag.types import Answer, AnswerStream, Filters, final_answer


class ChatSession:
    """One conversation: each follow-up is condensed into a standalone question before retrieval.

    The session keeps, per turn, what the next follow-up needs (:class:`rag.chat.Turn`): the papers the
    answer cited (what "it" and "their" refer to), the question's frame (what "And for X?" reuses) and
    the answer text (whose sentences a follow-up does not quote again). ``engine`` is the
    :class:`rag.engine.Engine` that searches and answers.
    """

    def __init__(self, engine, k: int | None = None, filters: Filters | None = None,
                 llm: LLMMode | None = None, max_turns: int = 6) -> None:
        self.engine = engine
        self.k = k
        self.filters = filters
        self.llm = llm
        self.max_turns = max_turns
        self.turns: list[Turn] = []

    @property
    def history(self) -> list[tuple[str, str]]:
        """(standalone question, answer text) per turn, oldest first: the LLM prompt's chat history."""
        return [(t.standalone, t.answer) for t in self.turns]

    @history.setter
    def history(self, pairs: list[tuple[str, str]]) -> None:
        self.turns = [Turn(question=q, standalone=q, answer=a) for q, a in pairs]

    def reset(self) -> None:
        self.turns.clear()

    def plan(self, question: str, llm: LLMMode | None = None) -> Plan:
        """How the next question would be searched for (:class:`rag.chat.Plan`), without answering it."""
        clean = self.engine.clean_question(question)
        return condense(self.engine, clean, self.turns[-self.max_turns:], self.engine.resolve_mode(llm or self.llm))

    def stream(self, question: str, **overrides) -> Iterator[str | Answer]:
        clean = self.engine.clean_question(question)
        llm = overrides.get("llm", self.llm)
        plan = self.plan(clean, llm)
        answer = None
        for item in self.engine.stream(
            clean, k=overrides.get("k", self.k), filters=overrides.get("filters", self.filters), llm=llm,
            history=self.history[-self.max_turns:], standalone=plan.standalone, focus=plan.ask or None,
            about=plan.about, exclude=plan.exclude, avoid=[t.answer for t in self.turns],
        ):
            if isinstance(item, Answer):
                answer = item
            yield item
        if answer is not None:
            by_title = {h.title: h for h in answer.sources}
            self.turns.append(Turn(
                question=clean, standalone=answer.standalone_question or clean, answer=answer.text,
                cited=[c.title for c in answer.citations],
                papers=[by_title[c.title] for c in answer.citations if c.title in by_title],
                frame=plan.frame, kind=plan.kind))
            del self.turns[:-self.max_turns]

    def answer_stream(self, question: str, **overrides) -> AnswerStream:
        """:meth:`stream` as a typed :class:`AnswerStream` (the turn joins the history when it ends)."""
        return AnswerStream(self.stream(question, **overrides))

    def ask(self, question: str, **overrides) -> Answer:
        return final_answer(self.stream(question, **overrides))
