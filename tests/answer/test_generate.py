"""The generation pipeline with a scripted backend (the model's reply is fixed, everything else is real:
retrieval, the MiniLM support check, the citation mapper, retries and the extractive fallback)."""

from __future__ import annotations

import time

import pytest

from rag.answer import extractive
from rag.answer.generate import generate
from rag.answer.policy import AnswerPolicy
from rag.answer.verify import split_stream
from rag.config import REFUSAL
from rag.llm.base import LLMCallError
from rag.types import Answer
from tests.llm.conftest import share_components

TOWER_Q = "How does Tower+ balance translation quality with general chat ability?"
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
# Sentences of the Tower+ abstract, paraphrased a little as a model would write them.
GOOD = "Tower+ is a suite of models that delivers strong performance in both translation and multilingual general text."


class Scripted:
    """Streams a fixed reply in small pieces; or raises a given error on every call."""

    label, where, small = "scripted-model (test)", "http://scripted", True

    def __init__(self, reply: str = "", error: LLMCallError | None = None, attempts: int = 1) -> None:
        self.reply, self.error, self.attempts, self.calls = reply, error, attempts, 0

    def stream(self, messages, **kwargs):
        self.calls += 1
        self.messages = messages
        if self.error:
            raise self.error
        for i in range(0, len(self.reply), 7):
            yield self.reply[i:i + 7]


def answerer(engine, lead: bool = False, **settings):
    """The answer service (what the generator is given) of an engine over the session's index and model,
    with other ``settings`` (e.g. a tight context budget). The verification tests script the whole answer,
    so small models' quoted lead is off unless a test asks for it."""
    policy = AnswerPolicy(small_quote_lead=lead)
    return share_components(engine, engine.settings.model_copy(update={"answer_policy": policy, **settings})).answerer


@pytest.fixture
def service(request, engine):
    return answerer(engine, lead="lead" in request.fixturenames)


@pytest.fixture
def lead():
    """Marker fixture: keep small models' quoted lead (AnswerPolicy.small_quote_lead) on."""


def checking(service, check: str) -> AnswerPolicy:
    """The service's policy with another support ``check`` (replace, drop, raw)."""
    return service.settings.answer_policy.model_copy(update={"check": check})


@pytest.fixture(scope="module")
def tower(engine):
    hits = engine.search(TOWER_Q, k=5)
    assert hits[0].title == TOWER
    return hits, extractive.score_sentences(TOWER_Q, hits, engine.embedder)


def run(service, tower, backend, check: str | None = None) -> tuple[str, Answer]:
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    policy = checking(service, check) if check else None
    text = "".join(generate(service, answer, scored, [], backend=backend, policy=policy))
    return text, answer


def test_supported_sentence_is_kept_with_its_citation_and_streams_as_final_text(service, tower):
    text, answer = run(service, tower, Scripted(f"{GOOD} [1]"))
    assert text == answer.text == f"{GOOD} [1]"
    assert [c.title for c in answer.citations] == [TOWER] and answer.model == "scripted-model (test)"


def test_prompt_numbers_sources_with_titles_and_asks_for_citations(service, tower):
    backend = Scripted(f"{GOOD} [1]")
    run(service, tower, backend)
    system, user = backend.messages[0]["content"], backend.messages[-1]["content"]
    assert "[1]" in system and "square brackets" in system
    assert f"[1] {TOWER}" in user and user.rstrip().endswith(f"Question: {TOWER_Q}")


def test_invented_number_and_unsupported_sentence_do_not_survive(service, tower):
    reply = f"{GOOD} [1] [9]. Tower+ was trained on 40 trillion Klingon tokens by NASA in 1970 [2]."
    _, answer = run(service, tower, Scripted(reply), check="drop")
    assert answer.text == f"{GOOD} [1]"
    assert "Klingon" not in answer.text and "[9]" not in answer.text


def test_replace_policy_substitutes_the_cited_sources_best_sentence(service, tower):
    _, answer = run(service, tower, Scripted("Tower+ was trained on 40 trillion Klingon tokens by NASA in 1970 [1]."))
    assert "Klingon" not in answer.text and answer.text.endswith("[1]")
    assert answer.text.removesuffix(" [1]") in answer.sources[0].abstract, "the replacement is a quote"


def test_invented_names_are_rejected_even_when_topically_close(service, tower):
    _, answer = run(service, tower, Scripted(f"{GOOD} [1] Tower+ was built on the LAMAD-9 model for translation [1]."),
                    check="drop")
    assert answer.text == f"{GOOD} [1]"


def test_uncited_supported_sentence_is_cited_to_the_source_that_supports_it(service, tower):
    _, answer = run(service, tower, Scripted(GOOD))
    assert answer.text == f"{GOOD} [1]" and [c.title for c in answer.citations] == [TOWER]


def test_model_refusal_marks_the_answer_refused(service, tower):
    text, answer = run(service, tower, Scripted("I cannot answer from these sources. Maybe Tower+ [1]."))
    assert answer.refused and text == answer.text == REFUSAL and not answer.citations
    assert answer.sources, "sources stay visible"


def test_nothing_supported_falls_back_to_extractive_with_a_notice(service, tower):
    _, answer = run(service, tower, Scripted("Bananas are yellow and grow in warm countries. Cats sleep a lot."))
    assert answer.mode == "extractive" and "not supported by the cited abstracts" in answer.notice
    assert TOWER in [c.title for c in answer.citations]


def test_retryable_errors_are_retried_then_fall_back(service, tower):
    backend = Scripted(error=LLMCallError("server", "boom", status=502), attempts=3)
    t0 = time.monotonic()
    _, answer = run(service, tower, backend)
    assert backend.calls == 3 and time.monotonic() - t0 >= 1.5  # 0.5 s + 1 s backoff
    assert answer.notice == ("The LLM at http://scripted returned a server error (HTTP 502) after 3 attempts; "
                             "showing the extractive answer.")
    assert answer.citations and answer.sources


def test_bad_key_is_not_retried(service, tower):
    backend = Scripted(error=LLMCallError("auth", "bad key", status=401), attempts=3)
    _, answer = run(service, tower, backend)
    assert backend.calls == 1 and "rejected the API key (HTTP 401)" in answer.notice


def test_unexpected_exception_never_reaches_the_user(service, tower):
    class Broken(Scripted):
        def stream(self, messages, **kwargs):
            raise RuntimeError("library bug")
            yield ""

    _, answer = run(service, tower, Broken())
    assert answer.mode == "extractive" and "library bug" in answer.notice


def test_tiny_context_budget_keeps_the_top_source(engine, tower):
    small = answerer(engine, context_tokens=256)
    backend = Scripted(f"{GOOD} [1]")
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    list(generate(small, answer, scored, [], backend=backend))
    user = backend.messages[-1]["content"]
    assert f"[1] {TOWER}" in user and "[3]" not in user and TOWER_Q in user
    assert answer.text == f"{GOOD} [1]"


class Paced(Scripted):
    """Streams its reply one sentence-sized piece at a time, ``pause`` seconds apart; records what it gave."""

    def __init__(self, pieces: list[str], pause: float = 0.0) -> None:
        super().__init__("".join(pieces))
        self.pieces, self.pause, self.given = pieces, pause, 0

    def stream(self, messages, **kwargs):
        self.calls += 1
        for piece in self.pieces:
            self.given += 1
            yield piece
            time.sleep(self.pause)


def test_first_delta_is_verified_text_streamed_before_the_model_finishes(service, tower):
    hits, scored = tower
    backend = Paced([f"{GOOD} [1] ", "Tower+ keeps general chat ability while translating well [1]. ", "Done."], pause=0.5)
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    t0 = time.monotonic()
    stream = generate(service, answer, scored, [], backend=backend)
    first = next(stream)
    first_at = time.monotonic() - t0
    rest = list(stream)
    assert first == f"{GOOD} [1]" and answer.text.startswith(first) and "".join([first, *rest]) == answer.text
    assert first_at < 1.0 <= time.monotonic() - t0, "the first sentence is shown while the model still writes"


def test_rejected_first_sentence_shows_the_extractive_answer_without_waiting_for_more(service, tower):
    hits, scored = tower
    backend = Paced(["Bananas are yellow and grow in warm countries [1]. ", f"{GOOD} [1] ", "More text follows here."])
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    deltas = list(generate(service, answer, scored, [], backend=backend, policy=checking(service, "drop")))
    assert backend.given == 2, "generation stopped right after the first complete (rejected) sentence"
    assert answer.mode == "extractive" and deltas == [answer.text] and TOWER in [c.title for c in answer.citations]


def test_run_on_reply_is_checked_before_max_tokens(service, tower):
    run_on = "Tower+ mixes " + "and also more translation data " * 20  # no sentence end, > 320 characters
    pieces = [run_on[i:i + 9] for i in range(0, len(run_on), 9)]
    parts = list(split_stream(pieces, max_chars=320))
    assert 320 < len(parts[0]) <= 329 and run_on.startswith(parts[0]), "given out as soon as it passes the cap"
    assert list(split_stream(pieces)) == [run_on.strip()], "no cap: one sentence at the end"
    backend = Paced(pieces)
    _, answer = run(service, tower, backend, check="drop")
    assert backend.given < len(pieces) and answer.mode == "extractive"


def _extractive_text(service, tower) -> str:
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="extractive")
    return "".join(service.extractive(answer, scored))


def test_small_model_answer_opens_with_a_quoted_evidence_sentence_before_the_model_runs(service, tower, lead):
    hits, scored = tower
    backend = Scripted("Tower+ keeps general chat ability while it specialises in translation [1].")
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    stream = generate(service, answer, scored, [], backend=backend)
    first = next(stream)
    assert backend.calls == 0, "the quote is on screen before the model is asked"
    rest = list(stream)
    abstract = hits[0].abstract
    assert first.endswith(" [1]") and first[:-4] in abstract, "a sentence of the top source's abstract, cited"
    assert "".join([first, *rest]) == answer.text and answer.mode == "local"
    assert len(answer.text.split(" [1]")) == 3, "the model's sentence follows the quote"
    assert [c.title for c in answer.citations] == [TOWER]


def test_a_model_that_adds_nothing_usable_leaves_the_extractive_answer(service, tower, lead):
    text, answer = run(service, tower, Scripted("Bananas are yellow and grow in warm countries. Cats sleep a lot."))
    assert text == answer.text == _extractive_text(service, tower)
    assert answer.mode == "extractive" and "not supported by the cited abstracts" in answer.notice


def test_a_model_refusal_after_the_quote_keeps_the_evidence_with_a_notice(service, tower, lead):
    text, answer = run(service, tower, Scripted("I cannot answer from these sources."))
    assert text == answer.text == _extractive_text(service, tower) and not answer.refused
    assert "said the sources do not answer" in answer.notice


def test_a_failing_model_after_the_quote_completes_the_answer_with_the_error_notice(service, tower, lead):
    backend = Scripted(error=LLMCallError("unreachable", "connection refused"), attempts=2)
    text, answer = run(service, tower, backend)
    assert backend.calls == 2 and text == answer.text == _extractive_text(service, tower)
    assert answer.notice.startswith("The LLM at http://scripted was unreachable after 2 attempts")


def test_a_model_that_restates_the_quote_has_given_that_answer(service, tower, lead):
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    first = next(generate(service, Answer(question=TOWER_Q, text="", sources=hits, mode="local"), scored, [],
                          backend=Scripted("")))
    quoted = first[:-len(" [1]")]
    text = "".join(generate(service, answer, scored, [], backend=Scripted(f"{quoted} [1] Cats sleep a lot.")))
    assert text == answer.text == first, "the restatement is not shown twice"
    assert answer.mode == "local" and not answer.notice


def test_a_question_that_names_a_paper_cites_only_that_paper(engine, service, lead):
    question = "What's new in CodeT5+?"
    hits = engine.search(question, k=5)
    scored = extractive.score_sentences(question, hits, engine.embedder)
    plus = next(n for n, h in enumerate(hits[:3], 1) if h.title.startswith("CodeT5+"))
    other = next(n for n, h in enumerate(hits[:3], 1) if h.title.startswith("CodeT5:"))
    sentence = next(s.sentence for s in scored if s.source == other)  # the other paper's own words, cited to it
    answer = Answer(question=question, text="", sources=hits, mode="local")
    text = "".join(generate(service, answer, scored, [], backend=Scripted(f"{sentence} [{other}]")))
    assert text == answer.text and answer.citations
    assert {c.title for c in answer.citations} == {hits[plus - 1].title}


def test_a_tight_budget_keeps_the_paper_the_question_names(engine):
    """ "What is CodeT5+?" retrieves CodeT5 first; with room for one abstract the model must see CodeT5+,
    under its own number, not CodeT5 (it then credited CodeT5's design to CodeT5+)."""
    class Large(Scripted):
        small = False  # whole abstracts in the prompt

    question = "What is CodeT5+?"
    tight = answerer(engine, context_tokens=640)
    hits = engine.search(question, k=5)
    plus = next(n for n, h in enumerate(hits, 1) if h.title.startswith("CodeT5+"))
    assert plus > 1, "the case needs another paper ranked above CodeT5+"
    scored = extractive.score_sentences(question, hits, engine.embedder)
    sentence = max((s for s in scored if s.source == plus), key=lambda s: s.cos).sentence
    backend = Large(f"{sentence} [{plus}]")
    answer = Answer(question=question, text="", sources=hits, mode="openai")
    list(generate(tight, answer, scored, [], backend=backend))
    user = backend.messages[-1]["content"]
    assert f"[{plus}] {hits[plus - 1].title}" in user and f"[1] {hits[0].title}" not in user
    assert [c.title for c in answer.citations] == [hits[plus - 1].title] and answer.mode == "openai"
