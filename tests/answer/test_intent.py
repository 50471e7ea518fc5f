"""Question shapes as users type them: lowercase, terse, misspelled (rag.answer.intent)."""

from __future__ import annotations

import pytest

from rag.answer import intent

#: Questions as users type them, by the answer shape they ask for.
SHAPES = {
    intent.LIST: ("Which papers propose data filtering for LLM pre-training?",
                  "whcih papers do pretraining for surgical video understanding",
                  "list every paper about remote sensing foundation models or benchmarks",
                  "Are there any Korean language models in here? list all of them",
                  "self-supervised pretraining for natural-science imagery like galaxies or plankton — which papers?"),
    intent.COMPARE: ("compare CodeT5 and CodeT5+ — architecture and pretraining objectives",
                     "Sabiá vs ptt5-v2: how do the two Portuguese efforts differ?", "comapre the Korean language models"),
    intent.LOOKUP: ("What is TorchTitan?", "whats hubert", "codet5 plus paper"),
    intent.SUMMARY: ("summarize 'Image Captioners Are Scalable Vision Learners Too'", "What is the main idea of DINOv2?"),
    intent.OVERVIEW: ("tell me about transformers",
                      "overview please: learning-rate schedules and re-warming when continually pretraining language models"),
    intent.FACT: ("how many tokens in the deepseek llm pretrain dataset", "mathcode-pile size in tokens",
                  "How much does pretraining on MIND-OWM improve GSM8K compared with raw data only?"),
    intent.YESNO: ("Does ALBERT's linguistic and world knowledge keep getting better the longer it is pretrained?",
                   "For biomedical NLP, does continual pretraining from a general-domain BERT beat pretraining from scratch?"),
    intent.GENERAL: ("How does Tower+ balance translation quality with general chat ability?",),
}


@pytest.mark.parametrize(("question", "kind"), [(q, kind) for kind, questions in SHAPES.items() for q in questions])
def test_detects_the_shape_of_chat_questions(question, kind):
    assert intent.detect(question).kind == kind


def test_before_vs_after_compares_values_in_one_paper_not_papers():
    assert intent.detect("stability gap cpt paper - openllama 3b avg medical score before vs after").kind != intent.COMPARE
    assert intent.detect("BERT vs RoBERTa").kind == intent.COMPARE


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
