"""LLM answers with verified citations, streamed sentence by sentence.

Pipeline (run by the answer service, :mod:`rag.answer.service`, for the LLM modes after the refusal gate):

1. Prompt: numbered sources (title + evidence) that fit ``RAG_CONTEXT_TOKENS``, lowest-ranked dropped
   first (:mod:`rag.answer.budget`), history, the question, and the rule "cite like [n]". A capable
   model writes from the question-aware composition (:mod:`rag.answer.compose`); a small one from the
   best evidence sentences of the top sources, after a quoted lead.
2. Stream the model's reply and check each sentence before it is shown (:mod:`rag.answer.verify`), so
   what streams is what the final answer says, and every cited title is a retrieved paper that backs
   its sentence, however weak the model.
3. If the model says it cannot answer, the answer is the refusal sentence and ``refused`` is set.
   If nothing survives the check, the extractive answer is shown with a notice.
4. Failures (timeouts, connection errors, 429, 5xx) get bounded retries with exponential backoff,
   then the extractive answer with a one-line notice (:mod:`rag.llm.failures`); a bad key gets one clear
   line, no retries. Nothing here raises to the user, and the retrieved sources are always kept.

The knobs (sentences per answer, evidence per source, thresholds) come from the settings' frozen
:class:`rag.answer.policy.AnswerPolicy`, or the ``policy`` a measurement passes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from rag.answer import prompt as prompts
from rag.answer.budget import BudgetError, fit
from rag.answer.citations import cite
from rag.answer.compose import Composition, compose_answer
from rag.answer.extractive import Scored, compose, compose_for
from rag.answer.intent import COMPARE, LIST, detect
from rag.answer.policy import AnswerPolicy
from rag.answer.screen import is_instruction
from rag.answer.support import SupportChecker
from rag.answer.verify import Verifier
from rag.answerable import named_sources
from rag.config import REFUSAL, Settings
from rag.llm.base import Backend, LLMCallError
from rag.llm.failures import backoff, call_error, cut_short, notice_for
from rag.llm.registry import Backends
from rag.types import Answer, Hit

if TYPE_CHECKING:
    from rag.embed import Embedder

UNSUPPORTED = "The model's sentences were not supported by the cited abstracts; "


class AnswerService(Protocol):
    """What an LLM answer needs from the answer service (:class:`rag.answer.service.Answerer`)."""

    settings: Settings
    embedder: Embedder
    backends: Backends

    def idf(self) -> Callable: ...

    def extractive(self, answer: Answer, scored: list[Scored]) -> Iterator[str]: ...


def generate(service: AnswerService, answer: Answer, scored: list[Scored], history: list[tuple[str, str]],
             backend: Backend | None = None, policy: AnswerPolicy | None = None) -> Iterator[str]:
    """Yield the answer's text deltas and fill ``answer`` (text, citations, refused, model, notice).

    ``backend`` defaults to the service's backend for ``answer.mode``; ``policy`` to the settings' one.
    """
    policy = policy or service.settings.answer_policy
    try:
        backend = backend or service.backends.get(answer.mode)
    except LLMCallError as err:
        yield from fallback(service, answer, scored, notice_for(err, None, 1))
        return
    small = backend.small  # may ask an OpenAI-compatible server for its model: once
    scored = [s for s in scored if not is_instruction(s.sentence)]  # an abstract's instructions are data
    if small:
        yield from _write_small(service, answer, scored, backend, policy)
    else:
        yield from _write_from_composition(service, answer, scored, history, backend, policy)


def fallback(service: AnswerService, answer: Answer, scored: list[Scored], notice: str) -> Iterator[str]:
    """The extractive answer over the same sources, with a visible notice."""
    answer.notice = notice
    answer.mode, answer.model = "extractive", ""
    yield from service.extractive(answer, scored)


def quotable(scored: list[Scored], allowed: set[int]) -> list[Scored]:
    """The answer's quoted lead: the best evidence sentence among the sources the model may cite
    (``allowed`` is already narrowed to the papers the question names, if it names any)."""
    return compose([s for s in scored if s.source in allowed], max_sentences=1)


def complete_extractively(verifier: Verifier, answer: Answer, scored: list[Scored], notice: str) -> Iterator[str]:
    """After a quoted lead and nothing usable from the model: the rest of the extractive answer, with a notice.

    The lead is already on screen, so this continues it rather than starting over; the final text is
    the lead followed by the extractive composition's other sentences.
    """
    picked = compose_for(answer.standalone_question or answer.question, answer.sources, scored)
    extras = [s for s in picked if s.sentence not in verifier.used][:max(0, len(picked) - len(verifier.kept))]
    for extra in extras:
        text = f"{extra.sentence} [{extra.source}]"
        verifier.kept.append(text)
        yield " " + text
    answer.notice = notice
    answer.mode, answer.model = "extractive", ""
    cite(answer, " ".join(verifier.kept))


def _write_small(service: AnswerService, answer: Answer, scored: list[Scored], backend: Backend,
                 policy: AnswerPolicy) -> Iterator[str]:
    """A small model (under ~1B parameters): the best evidence of the top sources, short answers, a quoted lead.

    Small models cannot use a conversation: they get the standalone (condensed) question, in English.
    A question that names papers ("What's new in CodeT5+?") is answered from those papers only, as in the
    extractive answer: a small model shown CodeT5 beside CodeT5+ otherwise cites both. So the named
    papers come first for the shortlist and for the token budget, whatever their rank (else a tight
    RAG_CONTEXT_TOKENS kept CodeT5, ranked first, and dropped CodeT5+); each source keeps its number
    [n], and the prompt lists them in rank order.
    """
    settings = service.settings
    system = prompts.system_prompt(policy.small_sentences, "en")
    question = answer.standalone_question or answer.question
    named = named_sources(question, answer.sources)
    order = sorted(range(1, len(answer.sources) + 1), key=lambda n: n not in named)[:policy.small_sources]
    evidence = {n: prompts.evidence(answer.sources[n - 1], n, scored, policy.small_evidence) for n in order}
    blocks = [prompts.source_block(n, answer.sources[n - 1], evidence[n]) for n in order]
    try:
        fitted = fit(system, question, blocks, [], settings.context_tokens)
    except BudgetError as err:
        yield from fallback(service, answer, scored, f"{err}; showing the extractive answer.")
        return
    kept = order[:len(fitted.sources)]  # fit() keeps a prefix of the blocks it is given
    in_rank_order = [block for _, block in sorted(zip(kept, fitted.sources, strict=True))]
    messages = prompts.build_messages(system, question, in_rank_order, [])
    allowed = (named & set(kept)) or set(kept)
    checked = {n: [answer.sources[n - 1].title] + evidence[n] for n in allowed}
    answer.model = backend.label
    lead = quotable(scored, allowed) if policy.small_quote_lead and policy.check != "raw" else []
    lead_vectors = service.embedder.embed_sentences([s.sentence for s in lead]) if lead else []

    def new_verifier() -> Verifier:
        return Verifier(SupportChecker(service.embedder, checked, policy, question=question), scored, allowed,
                        policy.small_sentences, policy)

    verifier = yield from _attempts(service, answer, scored, backend, messages,
                                    min(settings.llm_max_tokens, policy.small_max_tokens), new_verifier,
                                    list(zip(lead, lead_vectors, strict=True)))
    if verifier is None:  # settled by the extractive fallback
        return
    answer.model = backend.label  # the label may name the model discovered on the first call
    if verifier.lead and not verifier.written:  # the model added nothing that passed: finish from the abstracts
        notice = ("The local model said the sources do not answer this; showing the closest abstract sentences."
                  if verifier.refused else UNSUPPORTED + "showing the extractive answer.")
        yield from complete_extractively(verifier, answer, scored, notice)
    elif verifier.refused or not verifier.kept:
        yield from _refused_or_empty(service, answer, scored, verifier, "showing the extractive answer.")
    else:
        cite(answer, " ".join(verifier.kept))


def composed_blocks(composition: Composition, hits: list[Hit], scored: list[Scored],
                    context: int) -> dict[int, list[str]]:
    """Each composed paper's evidence for the prompt: its quoted sentences plus its next ``context`` best
    ones, in abstract order (the composition decides which papers and which facts; the model only writes).
    A list or comparison gets the quotes alone, so that every paper it names fits RAG_CONTEXT_TOKENS."""
    quoted = {s.sentence for s in composition.picked}
    context = 0 if composition.kind in (LIST, COMPARE, "overview") else context
    out: dict[int, list[str]] = {}
    for n in composition.papers:
        own = sorted((s for s in scored if s.source == n), key=lambda s: -s.score)
        extra = [s.sentence for s in own if s.sentence not in quoted][:context]
        wanted = {s.sentence for s in composition.picked if s.source == n} | set(extra)
        abstract = hits[n - 1].abstract or hits[n - 1].snippet
        out[n] = sorted(wanted, key=lambda t: (abstract.find(t) if t in abstract else 10 ** 6))
    return out


def _write_from_composition(service: AnswerService, answer: Answer, scored: list[Scored], history: list[tuple[str, str]],
                            backend: Backend, policy: AnswerPolicy) -> Iterator[str]:
    """A capable model (openai or any OpenAI-compatible server) writes from the composed evidence.

    The prompt is the question-aware composition (rag.answer.compose): the papers it cites, each with its
    quoted sentences (and a little context), and the shape to write (list every paper, compare side by
    side, ...). Every generated sentence is checked at claim level against the whole abstract it cites
    (SupportChecker.claims_hold: numbers, names, key terms) besides the embedding support check; a
    sentence that fails, or was cut off, is replaced by the cited paper's quote or dropped. For a list or
    comparison, the composed quote of any paper the model left out is appended, so the answer stays
    as complete as the extractive one.
    """
    question = answer.standalone_question or answer.question
    intent = detect(question)
    composition = compose_answer(question, answer.sources, scored, intent, named=named_sources(question, answer.sources),
                                 idf=service.idf())
    if composition.empty:
        yield from fallback(service, answer, scored, "")
        return
    evidence_text = composed_blocks(composition, answer.sources, scored, policy.context_per_source)
    order = composition.papers
    sentences = max(policy.sentences, len(order) + 1) if intent.kind in (LIST, COMPARE) else policy.sentences
    system = prompts.system_prompt(sentences) + prompts.shape_hint(intent.kind)
    blocks = [prompts.source_block(n, answer.sources[n - 1], evidence_text[n]) for n in order]
    turns = [f"{q}\n{a}" for q, a in history]
    try:
        fitted = fit(system, answer.question, blocks, turns, service.settings.context_tokens)
    except BudgetError as err:
        yield from fallback(service, answer, scored, f"{err}; showing the extractive answer.")
        return
    kept_history = history[len(history) - len(fitted.history):] if fitted.history else []
    messages = prompts.build_messages(system, answer.question, fitted.sources, kept_history)
    allowed = set(order[:len(fitted.sources)])
    evidence = {n: [answer.sources[n - 1].title] + prompts.evidence(answer.sources[n - 1], n, scored, 0)
                for n in allowed}
    abstracts = {n: f"{answer.sources[n - 1].title}. {answer.sources[n - 1].abstract or answer.sources[n - 1].snippet}"
                 for n in allowed}
    answer.model = backend.label

    def new_verifier() -> Verifier:
        return Verifier(SupportChecker(service.embedder, evidence, policy, question=question, abstracts=abstracts),
                        [s for s in scored if s.source in allowed], allowed, sentences, policy,
                        claims=True, preferred=composition.picked)

    verifier = yield from _attempts(service, answer, scored, backend, messages, service.settings.llm_max_tokens,
                                    new_verifier)
    if verifier is None:
        return
    answer.model = backend.label
    if verifier.refused or not verifier.kept:
        yield from _refused_or_empty(service, answer, scored, verifier, "showing the quoted evidence.")
        return
    if intent.kind in (LIST, COMPARE):  # a paper the model left out keeps its composed quote
        cited = {int(n) for text in verifier.kept for n in re.findall(r"\[(\d+)\]", text)}
        for s in composition.picked:
            if s.source not in cited and s.sentence not in verifier.used:
                text = f"{s.sentence} [{s.source}]"
                verifier.kept.append(text)
                cited.add(s.source)
                yield " " + text
    cite(answer, " ".join(verifier.kept))


def _attempts(service: AnswerService, answer: Answer, scored: list[Scored], backend: Backend, messages: list[dict],
              max_tokens: int, new_verifier: Callable[[], Verifier],
              lead: Sequence[tuple[Scored, list[float]]] = ()) -> Generator[str, None, Verifier | None]:
    """Call the model (a fresh ``new_verifier()`` per attempt, the quoted ``lead`` first) and stream what
    passes; retry what is worth a retry. Returns the last verifier, or None when the answer was settled by
    the extractive fallback (never raises to the user)."""
    attempt = 0
    while True:
        verifier = new_verifier()
        for quoted, vector in lead:
            text = verifier.quote(quoted, vector)
            if attempt == 0:
                yield text
        try:
            yield from _verified(backend, messages, verifier, max_tokens, service.settings)
            return verifier
        except Exception as exc:  # classify, retry if worth it, else fall back
            err = call_error(exc)
            last = not err.retryable or attempt + 1 >= backend.attempts
            if verifier.lead and not verifier.written and last:
                yield from complete_extractively(verifier, answer, scored, notice_for(err, backend, attempt + 1))
                return None
            if verifier.written:  # part of the answer is already on screen: keep it, say it is cut short
                answer.notice = cut_short(err, backend, attempt)
                return verifier
            if last:
                yield from fallback(service, answer, scored, notice_for(err, backend, attempt + 1))
                return None
            time.sleep(backoff(attempt, err))
            attempt += 1


def _verified(backend: Backend, messages: list[dict], verifier: Verifier, max_tokens: int,
              settings: Settings) -> Iterator[str]:
    """The model's streamed sentences that pass ``verifier``, spaced; the LLM call is closed however it ends."""
    deltas = backend.stream(messages, max_tokens=max_tokens, temperature=settings.llm_temperature,
                            stop=prompts.STOP, timeout=settings.llm_timeout)
    try:
        for sentence in verifier.run(deltas):
            yield sentence if len(verifier.kept) == 1 else " " + sentence
    finally:
        getattr(deltas, "close", lambda: None)()


def _refused_or_empty(service: AnswerService, answer: Answer, scored: list[Scored], verifier: Verifier,
                      showing: str) -> Iterator[str]:
    """The model refused (the refusal sentence), or nothing it wrote passed (the extractive answer)."""
    if verifier.refused:
        answer.text, answer.refused, answer.citations, answer.unsupported = REFUSAL, True, [], []
        yield REFUSAL
    else:
        yield from fallback(service, answer, scored, UNSUPPORTED + showing)
