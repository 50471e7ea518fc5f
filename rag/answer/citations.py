"""Map the ``[n]`` markers of an answer to the exact titles of the numbered sources.

Only numbers the engine handed out can become citations: a marker naming any other number, or a
title mentioned in the text (e.g. injected through an abstract), is never turned into a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from rag.types import Answer, Citation, Hit

#: Where a paper without its own URL in the corpus is looked up: arXiv's title search.
TITLE_SEARCH = "https://arxiv.org/search/?searchtype=title&query={}"

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SPACED_MARKER = re.compile(r"([ \t]*)\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A sentence ends after . ! ? and any citation markers that follow it ("… ability. [1] Next …").
_SENTENCE_END = re.compile(r"([.!?](?:\s*\[\d+\])*)\s+(?=[^\s\[])")


@dataclass
class Mapped:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    by_sentence: list[tuple[str, list[int]]] = field(default_factory=list)


def map_citations(text: str, sources: list[Hit]) -> Mapped:
    """Keep valid markers, drop invalid ones, list cited titles in order of first use."""
    valid = range(1, len(sources) + 1)
    order: list[int] = []

    def fix(match: re.Match) -> str:
        nums = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        kept = [n for n in nums if n in valid]
        for n in kept:
            if n not in order:
                order.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    cleaned = _MARKER.sub(fix, text)
    # Removing an invalid marker can join its neighbours into a new one ("[0[0]]" -> "[0]"): repeat
    # until nothing changes (valid markers are stable, so this ends).
    while (again := _MARKER.sub(fix, cleaned)) != cleaned:
        cleaned = again
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    by_sentence, unsupported = [], []
    for sentence in (s.strip() for s in re.split(r"[\x00\n]+", _SENTENCE_END.sub("\\1\x00", cleaned))):
        if not sentence:
            continue
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        by_sentence.append((sentence, nums))
        if not nums and len(sentence) > 25:
            unsupported.append(sentence)
    citations = [citation_for(sources[n - 1], n) for n in order]
    return Mapped(cleaned, citations, unsupported, by_sentence)


def cite(answer: Answer, text: str) -> None:
    """Set ``answer``'s text, citations and unsupported sentences from ``text`` with rank markers [n]."""
    mapped = map_citations(text, answer.sources)
    answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported


def paper_url(hit: Hit) -> str:
    """The paper's own URL when the corpus gives a safe one (http/https only: a corpus ``javascript:`` or
    ``data:`` URL never becomes a link), else an arXiv title search (always a working link)."""
    from rag.security import safe_href

    return safe_href(hit.url) or TITLE_SEARCH.format(quote_plus(hit.title))


def citation_for(hit: Hit, rank: int) -> Citation:
    """The citation of source ``rank`` (1-based); ``number`` stays the rank until :func:`renumber`."""
    return Citation(title=hit.title, paper_id=hit.paper_id, number=rank, url=paper_url(hit), date=hit.date,
                    authors=hit.authors, source=rank)


class Renumber:
    """Rewrite source-rank markers ``[k]`` to reading-order markers ``[n]`` (1..m by first use).

    Answerers (extractive, LLM, fallbacks) number sources by rank, which is what the prompt and the support
    check need; readers need [1], [2], … without gaps. The engine passes every streamed delta through one
    instance (a marker split across deltas is held back until it closes) and then :meth:`finish` rewrites
    the final Answer with the same numbering rule, so answer code that produces rank markers keeps working.
    """

    _OPEN = re.compile(r"\[[\d,;\s]*$")

    def __init__(self, valid: int) -> None:
        self.valid = valid
        self.order: dict[int, int] = {}  # source rank -> reading number
        self._held = ""

    def _number(self, rank: int) -> int:
        return self.order.setdefault(rank, len(self.order) + 1)

    def _sub(self, match: re.Match) -> str:
        ranks = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(2))]
        kept = [r for r in dict.fromkeys(ranks) if 1 <= r <= self.valid]
        # A dropped marker takes its leading space with it ("Invented [9]." -> "Invented."), as map_citations does.
        return match.group(1) + "".join(f"[{self._number(r)}]" for r in kept) if kept else ""

    def feed(self, delta: str) -> str:
        """The renumbered part of ``delta`` that can be shown now."""
        text = self._held + delta
        tail = self._OPEN.search(text)
        self._held = text[tail.start():] if tail else ""
        text = text[:tail.start()] if tail else text
        return _SPACED_MARKER.sub(self._sub, text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return _SPACED_MARKER.sub(self._sub, held)

    def finish(self, answer: Answer) -> None:
        """Renumber ``answer.text`` and its citations by first use in the final text (fresh numbering)."""
        self.order = {}
        answer.text = _SPACED_MARKER.sub(self._sub, answer.text)
        by_rank = {c.source or c.number: c for c in answer.citations}
        cited = []
        for rank, number in self.order.items():
            citation = by_rank.get(rank)
            if citation is None:  # a marker without a Citation: build it from the source it names
                citation = citation_for(answer.sources[rank - 1], rank)
            citation.source, citation.number = rank, number
            cited.append(citation)
        answer.citations = cited
