"""The refusal gate on the bundled corpus: near-miss questions are refused, answerable ones are not."""

from __future__ import annotations

import pytest

from rag import REFUSAL
from rag.refusal import Gate

TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"


@pytest.mark.parametrize("question", [
    "What COMET score does Tower+ 72B get on WMT24?",  # the abstract has no COMET, no WMT24
    pytest.param("How many GPUs were used to train the OLMo 2 13B model?", marks=pytest.mark.xfail(
        strict=True, reason="known miss of the fitted gate: the abstract counts tokens and models, not GPUs")),
    "What pass@1 does the instruction-tuned CodeT5+ 16B get on HumanEval?",
    "What Dice score does Swin-UMamba get on the AbdomenMRI dataset?",
    "Which paper pretrains a speech model for Sanskrit?",  # a language no abstract mentions
    "What is a good recipe for banana bread?",  # off topic
])
def test_questions_about_a_detail_no_abstract_states_are_refused(engine, question):
    answer = engine.ask(question)
    assert answer.refused and answer.text.startswith(REFUSAL) and not answer.citations
    assert answer.sources, "the retrieved papers are still shown"


@pytest.mark.parametrize(("question", "title"), [
    ("How does Tower+ balance translation quality with general chat ability?", TOWER),
    ("At which scales are the Tower+ models released?", TOWER),
    ("Which ERNIE models are described in the collection?", None),  # far from any sentence, but names ERNIE
    ("list all the ERNIE papers in the collection", None),  # "collection" is the index, not a missing topic
    ("What is HuBERT?", "HuBERT: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units"),
])
def test_answerable_questions_are_answered(engine, question, title):
    answer = engine.ask(question)
    assert not answer.refused, answer.text
    if title:
        assert title in [c.title for c in answer.citations]


def test_a_named_paper_is_the_only_one_cited(engine):
    answer = engine.ask("Summarize the DINOv2 paper.")
    why = (answer.refused, answer.text[:120], [h.title[:40] for h in answer.sources])
    assert [c.title for c in answer.citations] and all("DINOv2" in c.title for c in answer.citations), why


def test_the_gate_can_be_turned_off(engine):
    question = "What COMET score does Tower+ 72B get on WMT24?"
    strict = engine.gate.decide(question, *_evidence(engine, question))
    assert strict.refuse and strict.probability < engine.gate.threshold
    lenient = Gate(engine.bm25, engine.settings.gate_model, threshold=0.0)
    assert not lenient.decide(question, *_evidence(engine, question)).refuse


def test_a_refusal_names_what_is_missing_and_keeps_the_closest_papers(engine):
    answer = engine.ask("Which paper pretrains a speech model for Sanskrit?")
    assert answer.refused and answer.text.startswith(REFUSAL)
    assert "Sanskrit" in answer.text, answer.text
    assert answer.sources, "the closest papers are still listed"


def test_a_refusal_names_topic_words_not_chat_words():
    from rag.refusal import explain
    from rag.signals import Signals

    said = explain(Signals(absent=["anyone", "Sanskrit"], missing=["anyone", "Sanskrit", "speech"]))
    assert said == "No indexed abstract mentions \u201cSanskrit\u201d."
    said = explain(Signals(absent=["whatever"], missing=["whatever", "GPUs"]))
    assert said == "The closest abstracts do not mention \u201cGPUs\u201d."


def test_the_shipped_model_records_how_it_was_fitted():
    from rag.refusal import DEFAULT_MODEL, GateModel

    model = GateModel.load(DEFAULT_MODEL)
    assert "train" in model.info["fitted_on"] and model.info["test"]["questions"] > 50
    assert 0 < model.threshold < 1


def _evidence(engine, question):
    hits = engine.search(question)
    return hits, engine.score_sentences(question, hits)
