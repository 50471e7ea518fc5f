"""Map the ``[n]`` markers of an answer to the exact titles of the numbered sources.

Only numbers the engine handed out can become citations: a marker naming any other number, or a
title mentioned in the text (e.g. injected through an abstract), is never turned into a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.types import Citation, Hit

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
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
    citations = [Citation(title=sources[n - 1].title, paper_id=sources[n - 1].paper_id, number=n) for n in order]
    return Mapped(cleaned, citations, unsupported, by_sentence)
