"""Checking a model's streamed reply sentence by sentence, before any of it is shown.

The reply is cut into sentences as they complete (:func:`split_stream`); each is checked against the
evidence the model was shown (:mod:`rag.answer.support`): its citations must name a provided source
that supports it, and (for capable models) every claim must occur in the cited abstract. A sentence
without support is replaced by the best quote of the source it cited or dropped (the policy's
``check``, :mod:`rag.answer.policy`); a model that drifts is stopped early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rag.answer.extractive import Scored
from rag.answer.policy import AnswerPolicy
from rag.answer.support import SupportChecker, dot

# A sentence ends at . ! ? (plus any citation markers after it) once the next sentence has begun,
# or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:\s*\[[\d,;\s]+\])*)\s+(?=[^\s\[])|\n+")
_MARKERS = re.compile(r"\[([\d,;\s]+)\]")
_LEAD = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|\**answer\**:\**|the answer(?: to (?:this|the|your) question)? is:?)\s*", re.I)
_REFUSAL = re.compile(
    r"\b(?:cannot|can ?not|can't|unable to)\s+(?:answer|determine|find|tell)|\bnot (?:enough|sufficient) information"
    r"|\bsources? (?:do|does) not (?:answer|mention|say|contain)|\bno information\b",
    re.I,
)



class Fragment(str):
    """A piece of the reply that did not end at a sentence boundary: the text still open when the stream
    stopped (max_tokens, a cut connection) or a run-on cut at ``max_chars``. Kept only if it is a whole
    sentence anyway (ends with . ! ?): "…require continuous pre-training to [4]" is never shown."""


def truncated(piece: str, plain: str) -> bool:
    return isinstance(piece, Fragment) and not re.search(r"[.!?][\"')\]]*$", plain)


def split_stream(deltas: Iterable[str], max_chars: int | None = None) -> Iterator[str]:
    """Complete sentences (with their trailing citation markers) as soon as they are complete.

    With ``max_chars``, text that has run that long without a sentence end is given out as it is (the
    caller checks it like any sentence), so a run-on reply cannot hold up the answer until max_tokens.
    Such pieces, and the text left when the stream ends, are :class:`Fragment` s.
    """
    buffer = ""
    for delta in deltas:
        buffer += delta
        while True:
            match = _BOUNDARY.search(buffer)
            if not match:
                break
            end = match.start() + len(match.group(1) or "")
            sentence, buffer = buffer[:end], buffer[match.end():]
            if sentence.strip():
                yield sentence.strip()
        if max_chars and len(buffer) > max_chars:
            sentence, buffer = buffer, ""
            yield Fragment(sentence.strip())
    if buffer.strip():
        yield Fragment(buffer.strip())


def is_refusal(sentence: str) -> bool:
    return bool(_REFUSAL.search(sentence))


@dataclass
class Verifier:
    """Turns raw model sentences into checked, re-cited sentences (see module docstring)."""

    checker: SupportChecker
    scored: list[Scored]
    allowed: set[int]  # source numbers that were in the prompt
    max_sentences: int
    policy: AnswerPolicy
    kept: list[str] = field(default_factory=list)
    refused: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"sentences": 0, "kept": 0, "recited": 0, "replaced": 0,
                                                             "dropped": 0})
    used: set[str] = field(default_factory=set)  # sentences already in the answer (quoted or kept)
    _echo: bool = False  # the last checked sentence was a fragment or restated a title / the question
    lead: int = 0  # sentences in ``kept`` quoted before the model wrote anything
    claims: bool = False  # check each claim (numbers, names, key terms) against the whole cited abstract
    preferred: list[Scored] = field(default_factory=list)  # the composition's quotes: replacements come from these first
    confirmed: bool = False  # the model's own sentence restated the quoted lead
    _lead_vectors: list = field(default_factory=list)

    def quote(self, scored: Scored, vector) -> str:
        """Seed the answer with an evidence sentence (the policy's ``small_quote_lead``): kept, and never said twice."""
        text = f"{scored.sentence} [{scored.source}]"
        self.kept.append(text)
        self.lead += 1
        self.used.add(scored.sentence)
        self.checker.remember(list(vector))
        self._lead_vectors.append(list(vector))
        return text

    @property
    def written(self) -> int:
        """Sentences the model wrote that were kept, counting a restatement of the quoted lead once: a
        model that writes the quoted sentence itself has given that answer, only later than it was shown."""
        return len(self.kept) - self.lead + int(self.confirmed)

    def run(self, deltas: Iterable[str]) -> Iterator[str]:
        seen: set[str] = set()
        rejected = 0
        for raw in split_stream(deltas, self.policy.max_sentence_chars):
            if len(self.kept) >= self.max_sentences or raw in seen:  # enough, or the model is looping
                return
            seen.add(raw)
            if not self.written and is_refusal(raw):
                self.refused = True
                return
            out = self.check(raw)
            if out:
                rejected = 0
                self.kept.append(out)
                yield out
            elif not self._echo:  # a title or question said again is noise, not a failed answer
                rejected += 1
                limit = self.policy.max_rejected_run if self.written else self.policy.max_rejected_first
                if rejected >= limit and self.policy.check != "raw":
                    return

    def check(self, raw: str) -> str | None:
        self.stats["sentences"] += 1
        self._echo = False
        cited = [int(n) for group in _MARKERS.findall(raw) for n in re.split(r"[,;\s]+", group.strip()) if n]
        plain = _LEAD.sub("", _MARKERS.sub("", raw)).replace("**", "").strip()
        plain = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", plain))
        plain = re.sub(r"([.!?])[.!?]+$", r"\1", plain)  # "text. [1]." without its marker
        if is_refusal(plain) or len(plain) < 20 or len(plain.split()) < 4:
            self.stats["dropped"] += 1
            self._echo = not is_refusal(plain)
            return None
        valid = [n for n in dict.fromkeys(cited) if n in self.allowed]
        if truncated(raw, plain) and self.policy.check != "raw":  # cut off mid-sentence: the quote, or nothing
            return self._fallback(valid)
        if self.policy.check == "raw":
            self.stats["kept"] += 1
            return f"{plain} {''.join(f'[{n}]' for n in valid)}".strip()
        support, vector = self.checker.support(plain)
        if self.checker.restates(plain, vector):
            self.stats["dropped"] += 1
            self._echo = True
            return None
        supported = [n for n in valid if support.get(n, 0.0) >= self.checker.threshold]
        if not supported:
            best = max((n for n in support if n in self.allowed), key=support.get, default=None)
            if best is not None and support[best] >= self.checker.threshold:
                supported = [best]
                self.stats["recited"] += 1
        if supported and not self.checker.grounded(plain, supported):
            supported = []  # topically close, but names or numbers the sources never mention
        if supported and self.claims and not self.checker.claims_hold(plain, supported):
            supported = []  # a number, name or key term that the cited abstract does not contain
        # A source far less relevant to the question than the best one is not cited, however well it backs
        # the sentence: a small model shown one sentence per source tends to recite every source in turn.
        supported = [n for n in supported if self._relevance(n) >= self._best - self.policy.replace_margin]
        if supported:
            if self.checker.is_duplicate(vector):  # said already (often the quoted lead): noise, not a failure
                self.stats["dropped"] += 1
                self._echo = True
                if any(dot(vector, lv) >= self.policy.duplicate for lv in self._lead_vectors):
                    self.confirmed = True
                return None
            self.checker.remember(vector)
            self.used.add(plain)
            self.stats["kept"] += 1
            return f"{plain} {''.join(f'[{n}]' for n in supported)}"
        return self._fallback(valid)

    def _fallback(self, valid: list[int]) -> str | None:
        """A rejected sentence: the best unused quote of a source it cited (check ``replace``), else nothing."""
        if self.policy.check == "replace":
            for n in valid:
                replacement = self._replacement(n)
                if replacement:
                    self.stats["replaced"] += 1
                    return replacement
        self.stats["dropped"] += 1
        return None

    @property
    def _best(self) -> float:
        return max((s.score for s in self.scored), default=0.0)

    def _relevance(self, number: int) -> float:
        """The best sentence score of source ``number`` (question similarity blended with paper relevance)."""
        return max((s.score for s in self.scored if s.source == number), default=0.0)

    def _replacement(self, number: int) -> str | None:
        """The best not-yet-used abstract sentence of source ``number``, if it is relevant enough."""
        for s in self.preferred:
            if s.source == number and s.sentence not in self.used:
                self.used.add(s.sentence)
                return f"{s.sentence} [{number}]"
        floor = self._best - self.policy.replace_margin
        for s in sorted((s for s in self.scored if s.source == number), key=lambda s: -s.score):
            if s.score < floor:
                return None
            if s.sentence not in self.used:
                self.used.add(s.sentence)
                return f"{s.sentence} [{number}]"
        return None
