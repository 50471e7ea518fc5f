"""LLM answers with verified citations, streamed sentence by sentence.

Pipeline (called by ``Engine.stream`` for the ``openai`` and ``local`` modes, after the refusal gate):

1. Prompt: numbered sources (title + evidence) that fit ``RAG_CONTEXT_TOKENS``, lowest-ranked dropped
   first (:mod:`rag.answer.budget`), history, the question, and the rule "cite like [n]".
2. Stream the model's reply and cut it into sentences as they complete. Each sentence is checked
   before it is shown (:mod:`rag.answer.support`): citations must name a provided source that supports
   the sentence; a sentence without support is replaced by the best extractive sentence of the source
   it cited (policy ``replace``) or dropped. So what streams is what the final answer says, and every
   cited title is a retrieved paper that backs its sentence, however weak the model.
3. If the model says it cannot answer, the answer is the refusal sentence and ``refused`` is set.
   If nothing survives the check, the extractive answer is shown with a notice.
4. Failures (timeouts, connection errors, 429, 5xx) get bounded retries with exponential backoff,
   then the extractive answer with a one-line notice; a bad key gets one clear line, no retries.
   Nothing here raises to the user, and the retrieved sources are always kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rag.answer import prompt as prompts
from rag.answer.budget import BudgetError, fit
from rag.answer.citations import map_citations
from rag.answer.compose import Composition, compose_answer, is_instruction
from rag.answer.extractive import Scored
from rag.answer.intent import COMPARE, LIST, detect
from rag.answer.support import DUPLICATE, SupportChecker, dot
from rag.answerable import named_sources
from rag.config import REFUSAL
from rag.llm.base import Backend, LLMCallError
from rag.types import Answer

#: ``replace`` (default), ``drop`` or ``raw`` (no support check; only for measuring what the check buys).
POLICY = "replace"
#: Sentences per answer: small local models get short answers (they drift after two or three).
SENTENCES = {True: 3, False: 5}
#: Sources get their best N evidence sentences for small models, the whole abstract otherwise (0).
#: One sentence, not two: prefill runs at only ~280 tok/s on 2 vCPUs, and the shorter prompt moved the
#: first-token p50 from 2.8 s to 1.7 s (eval/llm_latency.py --limit 10 --evidence 1/2); on --limit 30
#: --policies citation precision went 0.771 -> 0.812, keyword recall 0.48 -> 0.42.
EVIDENCE_PER_SOURCE = {True: 1, False: 0}
#: Small models see only the top-ranked sources: prompt time dominates their first-token latency,
#: and lower-ranked abstracts mostly give them material to mix up. None = all retrieved sources.
SOURCES_SHOWN = {True: 3, False: None}
#: This many rejected sentences in a row end the generation (the model has drifted; waiting for more
#: tokens only costs time before the fallback).
MAX_REJECTED_RUN = 2
#: Before any sentence was kept, one rejection ends the generation: nothing is on screen yet, and on the
#: dev set a small model whose first sentence fails rarely recovers well (eval/llm_latency.py --limit 30
#: --policies, same replies replayed: waiting for a second sentence gave citation precision 0.688 and
#: keyword recall 0.38, stopping at once 0.771 and 0.48, and the first text ~0.6 s sooner). Fragments and
#: echoed titles or questions ("[1] Tower+: Bridging …") are skipped without counting as rejections.
MAX_REJECTED_FIRST = 1
#: A "sentence" still open after this many characters is checked as it is: small models sometimes write
#: one run-on sentence until max_tokens (2.9 s on the dev set) while the user sees nothing. The
#: longest sentence kept on the dev set was 224 characters.
MAX_SENTENCE_CHARS = 320
#: Small models' answers open with the best evidence sentence of the sources they are shown, quoted and
#: cited, streamed before the model has read its prompt; the model's verified sentences follow. Why: on
#: 2 cores the model's first verified sentence arrives ~2.1 s after the question (prompt reading at
#: ~280 tok/s, then ~50 tok/s), past the 1.5 s first-token target, and a 135M model's own first sentence
#: fails verification on most dev questions anyway (the answer then fell back to extractive text after
#: that wait). The quote is verified by construction (it is the abstract's own sentence) and stays in
#: the final answer, so what streams is still exactly ``answer.text``. Large models write the whole answer.
QUOTE_LEAD = {True: True, False: False}
#: Cap on generated tokens for small models, whatever RAG_LLM_MAX_TOKENS says.
SMALL_MAX_TOKENS = 128
#: An extractive replacement must be about as relevant as the best evidence overall (as in compose()).
REPLACE_MARGIN = 0.08
BACKOFF_BASE, BACKOFF_MAX = 0.5, 8.0

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
    policy: str = POLICY
    kept: list[str] = field(default_factory=list)
    refused: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"sentences": 0, "kept": 0, "recited": 0, "replaced": 0,
                                                             "dropped": 0})
    _used: set[str] = field(default_factory=set)
    _echo: bool = False  # the last checked sentence was a fragment or restated a title / the question
    lead: int = 0  # sentences in ``kept`` that the engine quoted before the model wrote anything
    claims: bool = False  # check each claim (numbers, names, key terms) against the whole cited abstract
    preferred: list[Scored] = field(default_factory=list)  # the composition's quotes: replacements come from these first
    confirmed: bool = False  # the model's own sentence restated the quoted lead
    _lead_vectors: list = field(default_factory=list)

    def quote(self, scored: Scored, vector) -> str:
        """Seed the answer with an evidence sentence (see QUOTE_LEAD): kept, and never said twice."""
        text = f"{scored.sentence} [{scored.source}]"
        self.kept.append(text)
        self.lead += 1
        self._used.add(scored.sentence)
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
        for raw in split_stream(deltas, MAX_SENTENCE_CHARS):
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
                if rejected >= (MAX_REJECTED_RUN if self.written else MAX_REJECTED_FIRST) and self.policy != "raw":
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
        if truncated(raw, plain) and self.policy != "raw":  # cut off mid-sentence: the quote, or nothing
            return self._fallback(valid)
        if self.policy == "raw":
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
        supported = [n for n in supported if self._relevance(n) >= self._best - REPLACE_MARGIN]
        if supported:
            if self.checker.is_duplicate(vector):  # said already (often the quoted lead): noise, not a failure
                self.stats["dropped"] += 1
                self._echo = True
                if any(dot(vector, lv) >= DUPLICATE for lv in self._lead_vectors):
                    self.confirmed = True
                return None
            self.checker.remember(vector)
            self._used.add(plain)
            self.stats["kept"] += 1
            return f"{plain} {''.join(f'[{n}]' for n in supported)}"
        return self._fallback(valid)

    def _fallback(self, valid: list[int]) -> str | None:
        """A rejected sentence: the best unused quote of a source it cited (policy ``replace``), else nothing."""
        if self.policy == "replace":
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
            if s.source == number and s.sentence not in self._used:
                self._used.add(s.sentence)
                return f"{s.sentence} [{number}]"
        floor = self._best - REPLACE_MARGIN
        for s in sorted((s for s in self.scored if s.source == number), key=lambda s: -s.score):
            if s.score < floor:
                return None
            if s.sentence not in self._used:
                self._used.add(s.sentence)
                return f"{s.sentence} [{number}]"
        return None


def notice_for(err: LLMCallError, backend: Backend | None, attempts: int) -> str:
    where = backend.where if backend is not None else "LLM"
    subject = "The local model" if where == "in-process" else f"The LLM at {where}"
    tail = "showing the extractive answer."
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if err.kind == "auth":
        return f"{subject} rejected the API key (HTTP {err.status}): check OPENAI_API_KEY; {tail}"
    if err.kind == "timeout":
        return f"{subject} did not answer in time (RAG_LLM_TIMEOUT) {tries}; {tail}"
    if err.kind == "unreachable":
        return f"{subject} was unreachable {tries}; {tail}"
    if err.kind == "rate_limit":
        return f"{subject} is rate-limiting requests (HTTP 429) {tries}; {tail}"
    if err.kind == "server":
        return f"{subject} returned a server error (HTTP {err.status}) {tries}; {tail}"
    if err.kind == "load":
        return f"The local model could not be loaded ({err.detail}); {tail}"
    detail = f"HTTP {err.status}: " if err.status else ""
    return f"{subject} could not answer ({detail}{err.detail[:160]}); {tail}"


def fallback(engine, answer: Answer, scored: list[Scored], notice: str) -> Iterator[str]:
    """The extractive answer over the same sources, with a visible notice."""
    answer.notice = notice
    answer.mode, answer.model = "extractive", ""
    yield from engine._extractive(answer, scored)


def quotable(scored: list[Scored], allowed: set[int]) -> list[Scored]:
    """The answer's quoted lead: the best evidence sentence among the sources the model may cite
    (``allowed`` is already narrowed to the papers the question names, if it names any)."""
    from rag.answer.extractive import compose

    return compose([s for s in scored if s.source in allowed], max_sentences=1)


def complete_extractively(verifier: Verifier, answer: Answer, scored: list[Scored], notice: str) -> Iterator[str]:
    """After a quoted lead and nothing usable from the model: the rest of the extractive answer, with a notice.

    The lead is already on screen, so this continues it rather than starting over; the final text is
    the lead followed by the extractive composition's other sentences.
    """
    from rag.answer.extractive import compose_for

    picked = compose_for(answer.standalone_question or answer.question, answer.sources, scored)  # as Engine._extractive
    extras = [s for s in picked if s.sentence not in verifier._used][:max(0, len(picked) - len(verifier.kept))]
    for extra in extras:
        text = f"{extra.sentence} [{extra.source}]"
        verifier.kept.append(text)
        yield " " + text
    answer.notice = notice
    answer.mode, answer.model = "extractive", ""
    mapped = map_citations(" ".join(verifier.kept), answer.sources)
    answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported


def backoff(attempt: int, err: LLMCallError) -> float:
    if err.retry_after is not None and 0 <= err.retry_after <= BACKOFF_MAX:
        return err.retry_after
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt)


def generate(engine, answer: Answer, scored: list[Scored], history: list[tuple[str, str]],
             backend: Backend | None = None, policy: str | None = None) -> Iterator[str]:
    """Yield the answer's text deltas and fill ``answer`` (text, citations, refused, model, notice)."""
    from rag.llm import get_backend

    settings = engine.settings
    try:
        backend = backend or get_backend(engine, answer.mode)
    except LLMCallError as err:
        yield from fallback(engine, answer, scored, notice_for(err, None, 1))
        return
    small = backend.small
    sentences = SENTENCES[small]
    system = prompts.system_prompt(sentences, "en" if small else answer.language)
    # Small models cannot use a conversation; they get the standalone (condensed) question instead.
    question = (answer.standalone_question or answer.question) if small else answer.question
    scored = [s for s in scored if not is_instruction(s.sentence)]  # an abstract's instructions are data
    if not small:
        yield from _write_from_composition(engine, answer, scored, history, backend, policy)
        return
    # A question that names papers ("What's new in CodeT5+?") is answered from those papers only, as in the
    # extractive answer: a small model shown CodeT5 beside CodeT5+ otherwise cites both. So the named
    # papers come first for the small model's shortlist and for the token budget, whatever their rank
    # (else a tight RAG_CONTEXT_TOKENS kept CodeT5, ranked first, and dropped CodeT5+); each source keeps
    # its number [n], and the prompt lists them in rank order.
    named = named_sources(question, answer.sources)
    order = sorted(range(1, len(answer.sources) + 1), key=lambda n: n not in named)[:SOURCES_SHOWN[small]]
    blocks = [prompts.source_block(n, answer.sources[n - 1],
                                   prompts.evidence(answer.sources[n - 1], n, scored, EVIDENCE_PER_SOURCE[small]))
              for n in order]
    turns = [] if small else [f"{q}\n{a}" for q, a in history]
    try:
        fitted = fit(system, question, blocks, turns, settings.context_tokens)
    except BudgetError as err:
        yield from fallback(engine, answer, scored, f"{err}; showing the extractive answer.")
        return
    kept_history = history[len(history) - len(fitted.history):] if fitted.history else []
    kept = order[:len(fitted.sources)]  # fit() keeps a prefix of the blocks it is given
    in_rank_order = [block for _, block in sorted(zip(kept, fitted.sources, strict=True))]
    messages = prompts.build_messages(system, question, in_rank_order, kept_history)
    allowed = (named & set(kept)) or set(kept)
    evidence = {n: [answer.sources[n - 1].title] + prompts.evidence(answer.sources[n - 1], n, scored,
                                                                     EVIDENCE_PER_SOURCE[small])
                for n in allowed}
    max_tokens = min(settings.llm_max_tokens, SMALL_MAX_TOKENS) if small else settings.llm_max_tokens
    answer.model = backend.label
    lead = quotable(scored, allowed) if QUOTE_LEAD[small] and (policy or POLICY) != "raw" else []
    lead_vectors = engine.embedder.embed_sentences([s.sentence for s in lead]) if lead else []
    verifier = None
    for attempt in range(backend.attempts):
        verifier = Verifier(SupportChecker(engine.embedder, evidence, question=question), scored, allowed, sentences,
                            policy or POLICY)
        for quoted, vector in zip(lead, lead_vectors, strict=True):
            text = verifier.quote(quoted, vector)
            if attempt == 0:
                yield text
        try:
            yield from _verified(backend, messages, verifier, max_tokens, settings)
            break
        except Exception as exc:  # never raise to the user: classify, retry if worth it, else fall back
            err = _call_error(exc)
            if verifier.lead and not verifier.written and (not err.retryable or attempt + 1 >= backend.attempts):
                yield from complete_extractively(verifier, answer, scored, notice_for(err, backend, attempt + 1))
                return
            if verifier.written:  # part of the answer is already on screen: keep it, say it is cut short
                answer.notice = _cut_short(err, backend, attempt)
                break
            if not err.retryable or attempt + 1 >= backend.attempts:
                yield from fallback(engine, answer, scored, notice_for(err, backend, attempt + 1))
                return
            time.sleep(backoff(attempt, err))
    answer.model = backend.label  # the label may name the model discovered on the first call
    assert verifier is not None
    if verifier.lead and not verifier.written:  # the model added nothing that passed: finish from the abstracts
        notice = ("The local model said the sources do not answer this; showing the closest abstract sentences."
                  if verifier.refused else "The model's sentences were not supported by the cited abstracts; "
                                           "showing the extractive answer.")
        yield from complete_extractively(verifier, answer, scored, notice)
        return
    if verifier.refused:
        answer.text, answer.refused, answer.citations, answer.unsupported = REFUSAL, True, [], []
        yield REFUSAL
        return
    if not verifier.kept:
        yield from fallback(engine, answer, scored, "The model's sentences were not supported by the cited "
                                                    "abstracts; showing the extractive answer.")
        return
    mapped = map_citations(" ".join(verifier.kept), answer.sources)
    answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported


#: Sentences of context per paper beside the composed quotes, so a capable model can rephrase with care.
CONTEXT_PER_SOURCE = 2


def composed_blocks(composition: Composition, hits, scored: list[Scored]) -> dict[int, list[str]]:
    """Each composed paper's evidence for the prompt: its quoted sentences plus its next best ones, in
    abstract order (the composition decides which papers and which facts; the model only writes). A list
    or comparison gets the quotes alone, so that every paper it names fits RAG_CONTEXT_TOKENS."""
    quoted = {s.sentence for s in composition.picked}
    context = 0 if composition.kind in (LIST, COMPARE, "overview") else CONTEXT_PER_SOURCE
    out: dict[int, list[str]] = {}
    for n in composition.papers:
        own = sorted((s for s in scored if s.source == n), key=lambda s: -s.score)
        extra = [s.sentence for s in own if s.sentence not in quoted][:context]
        wanted = {s.sentence for s in composition.picked if s.source == n} | set(extra)
        abstract = hits[n - 1].abstract or hits[n - 1].snippet
        out[n] = sorted(wanted, key=lambda t: (abstract.find(t) if t in abstract else 10 ** 6))
    return out


def _write_from_composition(engine, answer: Answer, scored: list[Scored], history: list[tuple[str, str]],
                            backend: Backend, policy: str | None) -> Iterator[str]:
    """A capable model (openai or any OpenAI-compatible server) writes from the composed evidence.

    The prompt is the question-aware composition (rag.answer.compose): the papers it cites, each with its
    quoted sentences (and a little context), and the shape to write (list every paper, compare side by
    side, ...). Every generated sentence is checked at claim level against the whole abstract it cites
    (SupportChecker.claims_hold: numbers, names, key terms) besides the embedding support check; a
    sentence that fails, or was cut off, is replaced by the cited paper's quote or dropped. For a list or
    comparison, the composed quote of any paper the model left out is appended, so the answer stays
    as complete as the extractive one.
    """
    settings = engine.settings
    question = answer.standalone_question or answer.question
    intent = detect(question)
    composition = compose_answer(question, answer.sources, scored, intent, named=named_sources(question, answer.sources),
                                 idf=engine.gate.idf())
    if composition.empty:
        yield from fallback(engine, answer, scored, "")
        return
    evidence_text = composed_blocks(composition, answer.sources, scored)
    order = composition.papers
    sentences = max(SENTENCES[False], len(order) + 1) if intent.kind in (LIST, COMPARE) else SENTENCES[False]
    system = prompts.system_prompt(sentences) + prompts.shape_hint(intent.kind)
    blocks = [prompts.source_block(n, answer.sources[n - 1], evidence_text[n]) for n in order]
    turns = [f"{q}\n{a}" for q, a in history]
    try:
        fitted = fit(system, answer.question, blocks, turns, settings.context_tokens)
    except BudgetError as err:
        yield from fallback(engine, answer, scored, f"{err}; showing the extractive answer.")
        return
    kept_history = history[len(history) - len(fitted.history):] if fitted.history else []
    kept = order[:len(fitted.sources)]
    messages = prompts.build_messages(system, answer.question, fitted.sources, kept_history)
    allowed = set(kept)
    evidence = {n: [answer.sources[n - 1].title] + prompts.evidence(answer.sources[n - 1], n, scored, 0)
                for n in allowed}
    abstracts = {n: f"{answer.sources[n - 1].title}. {answer.sources[n - 1].abstract or answer.sources[n - 1].snippet}"
                 for n in allowed}
    answer.model = backend.label
    verifier = None
    for attempt in range(backend.attempts):
        verifier = Verifier(SupportChecker(engine.embedder, evidence, question=question, abstracts=abstracts),
                            [s for s in scored if s.source in allowed], allowed, sentences, policy or POLICY,
                            claims=True, preferred=composition.picked)
        try:
            yield from _verified(backend, messages, verifier, settings.llm_max_tokens, settings)
            break
        except Exception as exc:  # never raise to the user: classify, retry if worth it, else fall back
            err = _call_error(exc)
            if verifier.written:  # part of the answer is already on screen: keep it, say it is cut short
                answer.notice = _cut_short(err, backend, attempt)
                break
            if not err.retryable or attempt + 1 >= backend.attempts:
                yield from fallback(engine, answer, scored, notice_for(err, backend, attempt + 1))
                return
            time.sleep(backoff(attempt, err))
    answer.model = backend.label
    assert verifier is not None
    if verifier.refused:
        answer.text, answer.refused, answer.citations, answer.unsupported = REFUSAL, True, [], []
        yield REFUSAL
        return
    if not verifier.kept:
        yield from fallback(engine, answer, scored, "The model's sentences were not supported by the cited "
                                                    "abstracts; showing the quoted evidence.")
        return
    if intent.kind in (LIST, COMPARE):  # a paper the model left out keeps its composed quote
        cited = {int(n) for text in verifier.kept for n in re.findall(r"\[(\d+)\]", text)}
        for s in composition.picked:
            if s.source not in cited and s.sentence not in verifier._used:
                text = f"{s.sentence} [{s.source}]"
                verifier.kept.append(text)
                cited.add(s.source)
                yield " " + text
    mapped = map_citations(" ".join(verifier.kept), answer.sources)
    answer.text, answer.citations, answer.unsupported = mapped.text, mapped.citations, mapped.unsupported


def _verified(backend, messages: list[dict], verifier, max_tokens: int, settings) -> Iterator[str]:
    """The model's streamed sentences that pass ``verifier``, spaced; the LLM call is closed however it ends."""
    deltas = backend.stream(messages, max_tokens=max_tokens, temperature=settings.llm_temperature,
                            stop=prompts.STOP, timeout=settings.llm_timeout)
    try:
        for sentence in verifier.run(deltas):
            yield sentence if len(verifier.kept) == 1 else " " + sentence
    finally:
        getattr(deltas, "close", lambda: None)()


def _call_error(exc: Exception) -> LLMCallError:
    """Any failure of an LLM call, classified (unknown errors count as a bad request: not retried)."""
    return exc if isinstance(exc, LLMCallError) else LLMCallError("bad_request", f"{type(exc).__name__}: {exc}")


def _cut_short(err: LLMCallError, backend, attempt: int) -> str:
    """The notice when the model failed after part of its answer was already shown."""
    return f"{notice_for(err, backend, attempt + 1).split(';')[0]}; the answer may be incomplete."
