"""The answer service: from retrieved papers to an answer (a refusal, quotes, or an LLM's verified sentences).

:meth:`Answerer.answer` is what ``Engine.stream`` runs after retrieval. Its dependencies are given,
not looked up: the settings, the embedding model (sentence scores, similarity), the refusal gate (its
decision, and the corpus IDF that weights the question's words) and the engine's LLM backends. The
LLM path (:mod:`rag.answer.generate`) receives this service, and falls back to its extractive answer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.answer import compose as composer
from rag.answer import extractive
from rag.answer.citations import cite
from rag.answer.extractive import Scored
from rag.answer.screen import quotable
from rag.answerable import named_sources
from rag.config import REFUSAL, Settings
from rag.llm.registry import Backends
from rag.types import Answer, Hit

if TYPE_CHECKING:
    from rag.answer.intent import Intent
    from rag.embed import Embedder
    from rag.refusal import Gate


@dataclass(eq=False)
class Answerer:
    """Answers from retrieved papers with explicit dependencies (see the module docstring)."""

    settings: Settings
    embedder: Embedder
    gate: Gate
    backends: Backends

    def idf(self) -> Callable:
        """The corpus IDF of the gate's BM25 index, which weights the question's words."""
        return self.gate.idf()

    def score(self, question: str, hits: list[Hit]) -> list[Scored]:
        """Every abstract sentence of ``hits`` scored as evidence for ``question`` (rag.answer.extractive)."""
        return extractive.score_sentences(question, hits, self.embedder, self.idf()) if hits else []

    def answer(self, answer: Answer, query: str, candidates: list[Hit], intent: Intent, mode: str,
               history: list[tuple[str, str]], focus: str | None = None, about: Collection[str] = (),
               avoid: Sequence[str] = ()) -> Iterator[str]:
        """Refuse, or answer in ``mode``; yields text deltas whose markers number sources by rank.

        The gate and follow-ups read the ``k`` papers shown (``answer.sources``); the composition of a
        list, overview or comparison reads every candidate and shows the ones it cites.
        """
        hits = answer.sources
        scored_all = self.score(query, candidates)
        scored = [s for s in scored_all if s.source <= len(hits)]
        evidence = self._evidence(focus, query, hits, scored, about, avoid)
        numbers = [i for i, h in enumerate(hits, start=1) if h.title in about]
        decision = self.gate.decide(query, hits, scored)
        refuse = decision.refuse
        if numbers and not evidence:
            yield from self._not_stated(answer, focus or query, numbers[0])
        elif numbers and (refuse or mode == "extractive"):
            # A follow-up about the paper just cited: whether the corpus holds an answer is settled;
            # the question is what that abstract says. Quote its closest sentence, saying first when
            # the asked-for thing is not in it (or the gate found the abstract does not answer).
            yield from self._follow_up(answer, evidence, self._lead(focus or query, hits, evidence, numbers, refuse))
        elif refuse or not evidence:
            answer.text, answer.refused = f"{REFUSAL} {decision.reason}".strip(), True
            answer.mode = mode
            yield answer.text
        elif mode == "extractive":
            yield from self.extractive(answer, self._evidence(focus, query, candidates, scored_all, (), avoid),
                                       candidates, intent)
        else:
            from rag.answer.generate import generate

            if mode == "openai" and len(candidates) > len(hits):  # the model writes from the same deeper evidence
                evidence = self._widen(answer, scored_all, candidates, intent)
            yield from generate(self, answer, evidence, history)

    def extractive(self, answer: Answer, scored: list[Scored], candidates: list[Hit] | None = None,
                   intent: Intent | None = None) -> Iterator[str]:
        """Fill ``answer`` with the extractive composition; yields the text once. Nothing quotable (every
        relevant sentence was an instruction to the reader, say) is a refusal, not an empty answer."""
        comp = self.compose(answer, scored, candidates, intent)
        if comp.empty:
            answer.text, answer.refused, answer.citations = REFUSAL, True, []
            yield answer.text
            return
        self._quote(answer, comp.text)
        yield answer.text

    def compose(self, answer: Answer, scored: list[Scored], candidates: list[Hit] | None = None,
                intent: Intent | None = None) -> composer.Composition:
        """The question-aware composition (rag.answer.compose) for ``answer``, over ``candidates`` (default:
        its sources). Cited candidates beyond the sources are appended to ``answer.sources`` (renumbered),
        so every [n] of the result indexes ``answer.sources``."""
        question = answer.standalone_question or answer.question
        pool = candidates or answer.sources
        shown = len(answer.sources)
        comp = composer.compose_answer(question, pool, scored, intent, named=named_sources(question, pool),
                                       similarity=self._similarity, idf=self.idf())
        extra = sorted(n for n in comp.papers if n > shown)
        mapping = {n: n for n in range(1, shown + 1)} | {n: shown + i for i, n in enumerate(extra, start=1)}
        answer.sources = list(answer.sources[:shown]) + [pool[n - 1] for n in extra]
        return comp.renumbered(mapping)

    def _widen(self, answer: Answer, scored: list[Scored], candidates: list[Hit], intent: Intent) -> list[Scored]:
        """Add the candidates the composition cites to ``answer.sources``; the evidence renumbered to match."""
        shown = len(answer.sources)
        self.compose(answer, scored, candidates, intent)
        position = {id(h): n for n, h in enumerate(candidates, start=1)}
        mapping = {position[id(h)]: n for n, h in enumerate(answer.sources, start=1) if id(h) in position}
        mapping.update({n: n for n in range(1, shown + 1)})
        return [replace(s, source=mapping[s.source]) for s in scored if s.source in mapping]

    def _similarity(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.embed_sentences(texts)
        return (vectors @ vectors.T).tolist()

    def _evidence(self, focus: str | None, query: str, hits: list[Hit], scored: list[Scored],
                  about: Collection[str], avoid: Sequence[str]) -> list[Scored]:
        """The sentences an answer may quote: scored for ``focus`` (what a follow-up asks now), only from
        the ``about`` papers when a follow-up refers to one, never a sentence of an earlier answer."""
        if not (focus or about or avoid):
            return scored
        from rag.chat import repeats

        if focus and focus != query:
            scored = self.score(focus, hits)
        if about:
            numbers = {i for i, h in enumerate(hits, start=1) if h.title in about}
            if numbers:
                scored = [s for s in scored if s.source in numbers]
        # the follow-up path quotes these directly: the composer's screen applies (instructions are data)
        return [s for s in quotable(scored, focus or query) if not repeats(s.sentence, list(avoid))]

    def _lead(self, ask: str, hits: list[Hit], evidence: list[Scored], numbers: list[int],
              refused: bool = False) -> str:
        """For a follow-up about a paper whose abstract does not mention what is asked (or, ``refused``,
        does not answer it), the sentence that says so, which the closest evidence follows; else ""."""
        from rag.chat import not_answered_lead, not_mentioned_lead, unmentioned

        paper = hits[numbers[0] - 1]
        thing = unmentioned(self, ask, paper, max(s.cos for s in evidence))
        if thing:
            return not_mentioned_lead(paper.title, thing)
        return not_answered_lead(paper.title) if refused else ""

    def _not_stated(self, answer: Answer, focus: str, number: int) -> Iterator[str]:
        """A follow-up about a paper whose abstract does not answer it: say so, citing that paper."""
        from rag.chat import not_stated

        self._quote(answer, not_stated(answer.sources[number - 1].title, focus, number))
        yield answer.text

    def _follow_up(self, answer: Answer, scored: list[Scored], lead: str = "") -> Iterator[str]:
        """A follow-up about the paper just cited: its best sentences (after ``lead``); yields the text once."""
        picked = extractive.compose_for(answer.standalone_question or answer.question, answer.sources, scored)
        if lead:
            picked = picked[:1]
        self._quote(answer, lead + extractive.render(picked))
        yield answer.text

    @staticmethod
    def _quote(answer: Answer, text: str) -> None:
        """An extractive answer: ``text`` (quotes with rank markers) cited, the model named."""
        cite(answer, text)
        answer.model = answer.model or "extractive"
