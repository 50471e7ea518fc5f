"""What a follow-up's answer says: repeats of earlier answers, and the paper not mentioning what is asked."""

from __future__ import annotations

import re

from rag.answerable import paper_text
from rag.chat.cues import asked_thing, short_name, without_lead_in
from rag.text import fold
from rag.types import Hit


def _norm(text: str) -> str:
    return " ".join(re.sub(r"\[\d+\]", " ", text).casefold().split())


def repeats(sentence: str, previous_answers: list[str]) -> bool:
    """Is ``sentence`` (an evidence sentence) already part of an earlier answer of this chat?"""
    s = _norm(sentence)
    return bool(s) and any(s in _norm(a) for a in previous_answers if a)


#: An asked-for thing counts as mentioned when a word of the abstract is this close (MiniLM cosine), or
#: when the best evidence sentence is this close to the question; below both, the answer says so first.
#: Measured on the train dialogues' follow-ups: asked-for things the abstract states score >= 0.45
#: (word) or >= 0.41 (sentence) except "hardware" (0.45 / 0.29: the abstract says "Cerebras CS-2");
#: "which dataset?" about TorchTitan scores 0.42 / 0.32.
THING_SIMILAR = 0.5
SENTENCE_SIMILAR = 0.35


def _subject(title: str) -> str:
    name = short_name(title)
    return f"The {name} abstract" if name != title else f"The abstract of “{title}”"


_MASS = frozenset({"hardware", "software", "data", "compute", "information", "evidence", "training", "code"})


def _with_article(thing: str) -> str:
    if thing.split()[-1] in _MASS:
        return thing
    return f"{'an' if thing[0] in 'aeiou' else 'a'} {thing}"


def unmentioned(engine, ask: str, hit: Hit, best_cos: float) -> str:
    """The asked-for thing when ``hit``'s abstract never mentions it (not even a close word) and no
    sentence comes close to the question; "" otherwise (the best sentence is then the answer)."""
    thing = asked_thing(ask)
    if not thing or best_cos >= SENTENCE_SIMILAR:
        return ""
    paper = paper_text(hit)
    words = [fold(w) for w in thing.split()]
    if all(paper.has_word(w) for w in words):
        return ""
    vocabulary = sorted({w for w in paper.words if w.isalpha() and len(w) > 2})
    head = _similar(engine.embedder, words[-1:], vocabulary)
    return "" if head and head[0] >= THING_SIMILAR else thing


def not_mentioned_lead(title: str, thing: str) -> str:
    """The opening of an answer whose paper does not mention what is asked; the closest sentence follows."""
    return f"{_subject(title)} does not mention {_with_article(thing)}. The closest it comes: "


def not_answered_lead(title: str) -> str:
    """The opening of an answer whose paper's abstract does not answer the question as asked."""
    return f"{_subject(title)} does not state this directly. The closest it comes: "


def not_stated(title: str, ask: str, number: int) -> str:
    """"The TorchTitan abstract does not mention a dataset [1]." for a follow-up its paper does not answer."""
    thing = asked_thing(ask)
    if thing:
        return f"{_subject(title)} does not mention {_with_article(thing)} [{number}]."
    return f"{_subject(title)} does not answer “{without_lead_in(ask).strip()}” [{number}]."


def _similar(embedder, words: list[str], vocabulary: list[str]) -> list[float]:
    """Each word's best cosine to the vocabulary (single-word MiniLM vectors, cached like abstract sentences)."""
    if not words or not vocabulary:
        return [0.0] * len(words)
    a, b = embedder.embed_sentences(words), embedder.embed_sentences(vocabulary)
    return (a @ b.T).max(axis=1).tolist()
