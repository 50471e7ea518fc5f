"""The generation pipeline with a scripted backend (the model's reply is fixed, everything else is real:
retrieval, the MiniLM support check, the citation mapper, retries and the extractive fallback)."""

from __future__ import annotations

import time

import pytest

from rag.answer import extractive
from rag.answer.generate import generate, split_stream
from rag.config import REFUSAL
from rag.llm.base import LLMCallError
from rag.types import Answer

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


@pytest.fixture(scope="module")
def tower(engine):
    hits = engine.search(TOWER_Q, k=5)
    assert hits[0].title == TOWER
    return hits, extractive.score_sentences(TOWER_Q, hits, engine.embedder)


def run(engine, tower, backend, policy=None) -> tuple[str, Answer]:
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    text = "".join(generate(engine, answer, scored, [], backend=backend, policy=policy))
    return text, answer


def test_supported_sentence_is_kept_with_its_citation_and_streams_as_final_text(engine, tower):
    text, answer = run(engine, tower, Scripted(f"{GOOD} [1]"))
    assert text == answer.text == f"{GOOD} [1]"
    assert [c.title for c in answer.citations] == [TOWER] and answer.model == "scripted-model (test)"


def test_prompt_numbers_sources_with_titles_and_asks_for_citations(engine, tower):
    backend = Scripted(f"{GOOD} [1]")
    run(engine, tower, backend)
    system, user = backend.messages[0]["content"], backend.messages[-1]["content"]
    assert "[1]" in system and "square brackets" in system
    assert f"[1] {TOWER}" in user and user.rstrip().endswith(f"Question: {TOWER_Q}")


def test_invented_number_and_unsupported_sentence_do_not_survive(engine, tower):
    reply = f"{GOOD} [1] [9]. Tower+ was trained on 40 trillion Klingon tokens by NASA in 1970 [2]."
    _, answer = run(engine, tower, Scripted(reply), policy="drop")
    assert answer.text == f"{GOOD} [1]"
    assert "Klingon" not in answer.text and "[9]" not in answer.text


def test_replace_policy_substitutes_the_cited_sources_best_sentence(engine, tower):
    _, answer = run(engine, tower, Scripted("Tower+ was trained on 40 trillion Klingon tokens by NASA in 1970 [1]."))
    assert "Klingon" not in answer.text and answer.text.endswith("[1]")
    assert answer.text.removesuffix(" [1]") in answer.sources[0].abstract, "the replacement is a quote"


def test_invented_names_are_rejected_even_when_topically_close(engine, tower):
    _, answer = run(engine, tower, Scripted(f"{GOOD} [1] Tower+ was built on the LAMAD-9 model for translation [1]."),
                    policy="drop")
    assert answer.text == f"{GOOD} [1]"


def test_uncited_supported_sentence_is_cited_to_the_source_that_supports_it(engine, tower):
    _, answer = run(engine, tower, Scripted(GOOD))
    assert answer.text == f"{GOOD} [1]" and [c.title for c in answer.citations] == [TOWER]


def test_model_refusal_marks_the_answer_refused(engine, tower):
    text, answer = run(engine, tower, Scripted("I cannot answer from these sources. Maybe Tower+ [1]."))
    assert answer.refused and text == answer.text == REFUSAL and not answer.citations
    assert answer.sources, "sources stay visible"


def test_nothing_supported_falls_back_to_extractive_with_a_notice(engine, tower):
    _, answer = run(engine, tower, Scripted("Bananas are yellow and grow in warm countries. Cats sleep a lot."))
    assert answer.mode == "extractive" and "not supported by the cited abstracts" in answer.notice
    assert TOWER in [c.title for c in answer.citations]


def test_retryable_errors_are_retried_then_fall_back(engine, tower):
    backend = Scripted(error=LLMCallError("server", "boom", status=502), attempts=3)
    t0 = time.monotonic()
    _, answer = run(engine, tower, backend)
    assert backend.calls == 3 and time.monotonic() - t0 >= 1.5  # 0.5 s + 1 s backoff
    assert answer.notice == ("The LLM at http://scripted returned a server error (HTTP 502) after 3 attempts; "
                             "showing the extractive answer.")
    assert answer.citations and answer.sources


def test_bad_key_is_not_retried(engine, tower):
    backend = Scripted(error=LLMCallError("auth", "bad key", status=401), attempts=3)
    _, answer = run(engine, tower, backend)
    assert backend.calls == 1 and "rejected the API key (HTTP 401)" in answer.notice


def test_unexpected_exception_never_reaches_the_user(engine, tower):
    class Broken(Scripted):
        def stream(self, messages, **kwargs):
            raise RuntimeError("library bug")
            yield ""

    _, answer = run(engine, tower, Broken())
    assert answer.mode == "extractive" and "library bug" in answer.notice


def test_tiny_context_budget_keeps_the_top_source(engine, tower, corpus_index):
    from rag import Engine
    from tests.conftest import make_settings

    small = Engine(make_settings(corpus_index, context_tokens=256))
    small.__dict__["embedder"] = engine.embedder
    backend = Scripted(f"{GOOD} [1]")
    hits, scored = tower
    answer = Answer(question=TOWER_Q, text="", sources=hits, mode="local")
    list(generate(small, answer, scored, [], backend=backend))
    user = backend.messages[-1]["content"]
    assert f"[1] {TOWER}" in user and "[3]" not in user and TOWER_Q in user
    assert answer.text == f"{GOOD} [1]"


def test_split_stream_keeps_markers_with_their_sentence_across_deltas():
    pieces = ["First one is here.", " [", "1]", " Second one [2]. ", "Third\n", "fourth"]
    assert list(split_stream(pieces)) == ["First one is here. [1]", "Second one [2].", "Third", "fourth"]
