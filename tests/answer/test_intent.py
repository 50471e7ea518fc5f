"""Question shapes as users type them: lowercase, terse, misspelled (rag.answer.intent)."""

from __future__ import annotations

import pytest

from rag.answer import intent


@pytest.mark.parametrize(("question", "kind"), [
    ("Which papers propose data filtering for LLM pre-training?", intent.LIST),
    ("whcih papers do pretraining for surgical video understanding", intent.LIST),
    ("list every paper about remote sensing foundation models or benchmarks", intent.LIST),
    ("Are there any Korean language models in here? list all of them", intent.LIST),
    ("self-supervised pretraining for natural-science imagery like galaxies or plankton — which papers?", intent.LIST),
    ("compare CodeT5 and CodeT5+ — architecture and pretraining objectives", intent.COMPARE),
    ("Sabiá vs ptt5-v2: how do the two Portuguese efforts differ?", intent.COMPARE),
    ("comapre the Korean language models", intent.COMPARE),
    ("What is TorchTitan?", intent.LOOKUP),
    ("whats hubert", intent.LOOKUP),
    ("codet5 plus paper", intent.LOOKUP),
    ("summarize 'Image Captioners Are Scalable Vision Learners Too'", intent.SUMMARY),
    ("What is the main idea of DINOv2?", intent.SUMMARY),
    ("tell me about transformers", intent.OVERVIEW),
    ("overview please: learning-rate schedules and re-warming when continually pretraining language models",
     intent.OVERVIEW),
    ("how many tokens in the deepseek llm pretrain dataset", intent.FACT),
    ("mathcode-pile size in tokens", intent.FACT),
    ("How much does pretraining on MIND-OWM improve GSM8K compared with raw data only?", intent.FACT),
    ("Does ALBERT's linguistic and world knowledge keep getting better the longer it is pretrained?", intent.YESNO),
    ("For biomedical NLP, does continual pretraining from a general-domain BERT beat pretraining from scratch?",
     intent.YESNO),
    ("How does Tower+ balance translation quality with general chat ability?", intent.GENERAL),
])
def test_detects_the_shape_of_chat_questions(question, kind):
    assert intent.detect(question).kind == kind


def test_a_value_question_wants_a_number():
    assert intent.detect("what wer does wav2vec 2.0 get with 10 min of labels").wants_number
    assert not intent.detect("What is TorchTitan?").wants_number


@pytest.mark.parametrize(("question", "targets"), [
    ("compare CodeT5 and CodeT5+ — architecture and pretraining objectives", ["CodeT5", "CodeT5+"]),
    ("DataComp-LM vs Dolma: what does each one release?", ["DataComp-LM", "Dolma"]),
    ("How do MATES and Group-MATES differ?", ["MATES", "Group-MATES"]),
])
def test_comparison_sides_are_the_named_things(question, targets):
    assert intent.detect(question).targets == targets


def test_a_described_method_is_not_a_list():
    question = ("What approaches exist for reading pen-written equations into LaTeX without needing lots of "
                "labelled data?")
    assert intent.detect(question).kind == intent.GENERAL
