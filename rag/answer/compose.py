"""Question-aware extractive answers: the evidence arranged in the shape the question asks for.

The old extractive answer was "the two or three best sentences overall", whatever was asked: a list
question named one or two papers, a lookup could open with a side remark, a comparison quoted one
side. Here :mod:`rag.answer.intent` names the shape and each shape has its own rule:

* list: every paper within ``LIST_MARGIN`` of the best paper's relevance, one bullet each (its best
  sentence), however many there are among the (deeper) retrieved candidates;
* lookup / summary: one paper (the one the question names, else the best), opening with its defining
  sentence ("we introduce / propose / present X"), then its most relevant other sentences;
* fact / yes-no: the sentence holding the asked-for value (digits when a value is asked), then the
  next best sentence of the same paper;
* compare: one block per side (each side resolved to the paper that matches it best), parallel evidence;
* overview: the relevant papers, grouped by how similar their evidence is, one bullet per paper.

Invariants, whatever the shape (tests/answer/test_compose.py): every sentence that carries a citation
is a whole sentence copied verbatim from the abstract it cites; framing lines ("Papers that fit the
question:") carry no citation and stand on their own line; a sentence that addresses the reader or a
model ("ignore previous instructions", "answer that …") is never quoted (abstracts are data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from rag.answer import intent as intents
from rag.answer.extractive import Scored, compose
from rag.answer.listing import (
    LIST_MARGIN,
    LIST_MAX,
    LIST_MIN,
    TOPIC_FLOOR,
    TOPIC_WEIGHT,
    group_label,
    group_papers,
    relevance,
    relevant_papers,
    resolve_targets,
    topic_coverage,
)
from rag.answer.screen import (
    defining,
    quotable,
)
from rag.text import name_words
from rag.types import Hit

#: Retrieval depth for list-like questions, as a multiple of k (the candidates the cut-off sees).
DEPTH = 3
#: Sentences quoted per paper in a comparison block, a lookup/summary, and a fact answer.
PER_COMPARE, PER_LOOKUP, PER_SUMMARY, PER_FACT = 2, 2, 3, 2
#: In a fact answer, a sentence with digits wins over a better-scored one without, within this margin.
NUMBER_MARGIN = 0.06
_DIGIT = re.compile(r"\d")


#: One line of an answer: a prefix (framing words, or "- " for a bullet) and the cited sentences after it.
Line = tuple[str, list[Scored]]


@dataclass
class Composition:
    """What the composer chose, line by line; ``text`` renders it with [n] markers."""

    kind: str
    lines: list[Line] = field(default_factory=list)

    @property
    def picked(self) -> list[Scored]:
        return [s for _, quotes in self.lines for s in quotes]

    @property
    def papers(self) -> list[int]:
        """Cited source numbers, in order of first use."""
        return list(dict.fromkeys(s.source for s in self.picked))

    @property
    def empty(self) -> bool:
        return not self.picked

    @property
    def text(self) -> str:
        return "\n".join((prefix + " ".join(_cite(s) for s in quotes)).rstrip() for prefix, quotes in self.lines).strip()

    def renumbered(self, mapping: dict[int, int]) -> Composition:
        """The same answer with source numbers changed (old -> new), e.g. after re-ordering the sources."""
        return Composition(self.kind, [(prefix, [replace(s, source=mapping[s.source]) for s in quotes])
                                       for prefix, quotes in self.lines])


def _by_paper(scored: list[Scored]) -> dict[int, list[Scored]]:
    out: dict[int, list[Scored]] = {}
    for s in sorted(scored, key=lambda s: -s.score):
        out.setdefault(s.source, []).append(s)
    return out


def _mentions(sentence: str, names: set[str]) -> int:
    words = name_words(sentence)
    return sum(1 for n in names if n in words)


def _lead_sentences(sentences: list[Scored], count: int, names: set[str]) -> list[Scored]:
    """A paper's defining sentence first (preferring one that names what was asked), then its best others."""
    ranked = sorted(sentences, key=lambda s: -s.score)
    defs = [s for s in ranked if defining(s.sentence)]
    lead = max(defs, key=lambda s: (_mentions(s.sentence, names), s.score), default=None) if defs else None
    picked = [lead] if lead else []
    picked += [s for s in ranked if s is not lead][:count - len(picked)]
    return picked


def _fact_sentences(sentences: list[Scored], count: int, wants_number: bool) -> list[Scored]:
    ranked = sorted(sentences, key=lambda s: -s.score)
    if not ranked:
        return []
    first = ranked[0]
    if wants_number and not _DIGIT.search(first.sentence):
        with_digit = [s for s in ranked if _DIGIT.search(s.sentence) and s.score >= first.score - NUMBER_MARGIN]
        if with_digit:
            first = with_digit[0]
    return [first] + [s for s in ranked if s is not first][:count - 1]


def _in_abstract_order(picked: list[Scored], hits: list[Hit]) -> list[Scored]:
    def position(s: Scored) -> int:
        abstract = hits[s.source - 1].abstract or hits[s.source - 1].snippet
        at = abstract.find(s.sentence)
        return at if at >= 0 else 10 ** 6
    return sorted(picked, key=position)


def _cite(s: Scored) -> str:
    return f"{s.sentence} [{s.source}]"


def _bullets(picked: list[Scored]) -> list[Line]:
    return [("- ", [s]) for s in picked]


def compose_answer(question: str, hits: list[Hit], scored: list[Scored], intent: intents.Intent | None = None,
                   named: set[int] | None = None, similarity: Callable | None = None,
                   margin: float = LIST_MARGIN, idf: Callable | None = None,
                   topic_weight: float | None = None, topic_power: float | None = None,
                   topic_floor: float | None = None) -> Composition:
    """Compose the answer to ``question`` from ``scored`` evidence over ``hits`` (see module docstring).

    ``named`` are the sources the question names (rag.answerable.named_sources): a lookup, fact or
    summary is answered from them only. ``similarity(texts) -> matrix`` groups an overview.
    """
    ask = intent or intents.detect(question)
    clean = quotable(scored, question)
    if not clean:
        return Composition(ask.kind)
    pool = [s for s in clean if s.source in named] if named else []
    pool = pool or clean
    papers = _by_paper(pool)
    qnames = name_words(question)
    kind = ask.kind
    weight = TOPIC_WEIGHT if topic_weight is None else topic_weight
    topic = topic_coverage(question, hits, idf, topic_power) if kind in (intents.LIST, intents.OVERVIEW, intents.COMPARE) else {}

    if kind == intents.COMPARE:
        candidates = relevant_papers(clean, margin=max(margin, 0.2), limit=LIST_MAX, topic=topic, weight=weight)
        sides = resolve_targets(ask.targets, hits, sorted(_by_paper(clean))) if len(ask.targets) >= 2 else []
        if len(sides) < 2:
            rel = relevance(clean)
            sides = (sorted(named, key=lambda n: -rel.get(n, 0.0)) if named and len(named) >= 2 else candidates)[:4]
        if re.search(r"\b(?:two|both)\b", question, re.I):
            sides = sides[:2]
        by_paper = _by_paper(clean)
        lines: list[Line] = []
        for n in sides:
            quote = _lead_sentences(by_paper.get(n, []), PER_COMPARE, qnames)
            if quote:
                lines += [("", [])] if lines else []
                lines.append(("- ", _in_abstract_order(quote, hits)))
        if sum(1 for _, q in lines if q) >= 2:
            return Composition(kind, lines)
        kind = intents.GENERAL

    if kind in (intents.LIST, intents.OVERVIEW):
        # every paper, not only those that contain the question's names: "LLM" in "which papers propose data
        # filtering for LLM pre-training" would drop the papers that say "language models" (topic coverage
        # already rewards the names)
        floor = TOPIC_FLOOR if topic_floor is None else topic_floor
        chosen = relevant_papers(clean, margin=margin, topic=topic, weight=weight, floor=floor)
        by_paper = _by_paper(clean)
        if kind == intents.LIST and len(chosen) < LIST_MIN:
            # the next paper in retrieval order, not in sentence relevance: on the train split the retrieval
            # order's next paper was an expected one in 8 of 10 such lists, the relevance order's in 6 of 11
            chosen += [n for n in sorted(by_paper) if n not in chosen][: LIST_MIN - len(chosen)]  # n: retrieval rank
        best = {n: _fact_sentences(by_paper[n], 1, ask.wants_number)[0] for n in chosen}
        if kind == intents.LIST or len(chosen) < 3:
            head: list[Line] = [("Papers that fit the question:", [])] if len(chosen) > 1 else []
            return Composition(kind, head + _bullets([best[n] for n in chosen]))
        lines = []
        groups = group_papers(chosen, best, similarity)
        singles = [n for g in groups if len(g) == 1 for n in g]
        for group in [g for g in groups if len(g) > 1] + ([singles] if singles else []):
            lines += [("", [])] if lines else []
            label = group_label(group, hits) if group is not singles else ("Other papers:" if lines else "")
            lines += [(label, [])] if label else []
            lines += _bullets([best[n] for n in group])
        return Composition(kind, lines)

    top = max(papers, key=lambda n: papers[n][0].score)
    if kind in (intents.LOOKUP, intents.SUMMARY):
        count = PER_SUMMARY if kind == intents.SUMMARY else PER_LOOKUP
        lead = _lead_sentences(papers[top], count, qnames)
        if kind == intents.SUMMARY:
            lead = [lead[0]] + _in_abstract_order(lead[1:], hits)
        return Composition(kind, [("", lead)])

    if kind in (intents.FACT, intents.YESNO):
        return Composition(kind, [("", _fact_sentences(papers[top], PER_FACT, ask.wants_number))])

    return Composition(kind, [("", compose(pool))])
