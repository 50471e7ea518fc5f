"""How a follow-up is worded: anaphors, ellipses and new questions told apart (rag.chat.cues)."""

from __future__ import annotations

from rag.chat.cues import (
    asked_thing,
    ellipsis_slot,
    has_anaphor,
    own_ask,
    resolve_anaphor,
    seeks_paper,
    without_opener,
)

TORCHTITAN = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"


def test_pronouns_are_anaphors_but_relative_pronouns_are_not():
    for follow_up in ("what hardware was it trained on?", "which models did their 67B version beat?",
                      "how much did it cost to pretrain that model?", "According to the authors, what is the key?"):
        assert has_anaphor(follow_up), follow_up
    for question in ("Which paper shows that averaging the weights of fine-tuned models beats the best one?",
                     "papers which pretrain on patents"):
        assert not has_anaphor(question), question
    assert seeks_paper("Which one uses correlation dimension to analyze LLM text, and what can it detect?")
    assert seeks_paper("Is there also a study on whether it's better to add reasoning data during pretraining?")
    assert not seeks_paper("what hardware was it trained on?")


def test_ellipsis_slot_is_the_new_slot_and_a_new_ask_is_no_ellipsis():
    seeking = "Which paper presents a language model for Swedish?"
    assert ellipsis_slot("And for Nepali?", seeking) == "for Nepali"
    assert ellipsis_slot("What about galaxies?", seeking) == "galaxies"
    assert ellipsis_slot("same for legal text?", seeking) == "legal text"
    assert ellipsis_slot("And with ranking consistency instead?", seeking) == "with ranking consistency"
    assert ellipsis_slot("food image segmentation?", seeking) == "food image segmentation"
    assert ellipsis_slot("and which dataset?", seeking) is None, "a new question about the same paper"
    asking = "unified seq2seq llm pretraining for table tasks - what data do they pretrain on"
    assert ellipsis_slot("and omnitab", asking) == "omnitab", "'and' + a fragment: a new slot for the last question"
    assert ellipsis_slot("ok and plankton?", asking) == "plankton"
    assert ellipsis_slot("and the contrastive loss they proposed?", asking) is None, "a pronoun: the same paper"
    about_a_paper = "What is TorchTitan?"
    assert ellipsis_slot("grokking in LLM pretraining?", about_a_paper) is None
    assert ellipsis_slot("Same question for MIND.", about_a_paper) == "MIND"
    assert ellipsis_slot("same q for the portuguese one", about_a_paper) == "the portuguese one"


def test_a_slot_with_its_own_question_is_split_into_subject_and_ask():
    asking = "What evaluation suite did the Sabia paper use?"
    slot = ellipsis_slot("What about the Vietnamese T5 model, which tasks was it benchmarked on?", asking)
    assert own_ask(slot) == ("the Vietnamese T5 model", "which tasks was it benchmarked on")
    assert own_ask(ellipsis_slot("What about VLN-BERT? What extra data did it use?", asking)) == (
        "VLN-BERT", "What extra data did it use")
    assert own_ask(ellipsis_slot("and megalodon, what'd it get compared against", asking)) == (
        "megalodon", "what'd it get compared against"), "'and <subject>, <question>' too"
    assert ellipsis_slot("and their results, how good were they?", asking) is None, "a pronoun subject: the same paper"
    assert own_ask("galaxies, spirals") == ("galaxies, spirals", ""), "a list of slots has no question of its own"
    assert own_ask("for Nepali") == ("for Nepali", "")
    assert own_ask("their results, how good were they") == ("their results, how good were they", ""), "same paper"
    assert resolve_anaphor("what extra data did it use", "VLN-BERT", shown="VLN-BERT") == "what extra data did VLN-BERT use"


def test_anaphor_is_replaced_by_the_papers_name():
    mediswift = "MediSwift: Efficient Sparse Pre-trained Biomedical Language Models"
    assert resolve_anaphor("what hardware was it trained on?", mediswift) == "what hardware was MediSwift trained on?"
    assert resolve_anaphor("what did the authors find?", mediswift) == "what did the MediSwift authors find?"
    assert resolve_anaphor("and which dataset?", TORCHTITAN) == "and which dataset in TorchTitan?"


def test_asked_thing_is_what_a_which_question_wants():
    assert asked_thing("and which dataset?") == "dataset"
    assert asked_thing("which kind?") == "" and asked_thing("what does it report?") == ""


def test_an_announced_topic_change_stands_alone_and_social_openers_are_not_searched_for():
    assert seeks_paper("unrelated: what masking ratio does MosaicBERT use for its MLM objective?")
    assert seeks_paper("thanks! different question - how big is the corpus?")
    assert seeks_paper("On another note, what is its size?")
    assert not seeks_paper("which tasks are unrelated to it?"), "only as an opener"
    assert not seeks_paper("what hardware was it trained on?")
    assert without_opener("thanks. now, which work pretrains a plankton encoder?") == "which work pretrains a plankton encoder?"
    assert without_opener("unrelated: what masking ratio does MosaicBERT use?") == "what masking ratio does MosaicBERT use?"
    assert without_opener("so what is the result of GPT?") == "what is the result of GPT?"
    assert without_opener("ok thanks") == "ok thanks", "nothing is left to ask"
    assert seeks_paper("ok and separately: which model suite trains on test sets?")
    assert without_opener("ok and separately: which model suite trains on test sets?") == \
        "which model suite trains on test sets?"


def test_a_new_subject_with_a_question_fronted_by_a_preposition_is_split_too():
    assert own_ask("ConvMAE, compared to which model they report the gains") == \
        ("ConvMAE", "compared to which model they report the gains")
    assert own_ask("the Korean one, on which benchmark") == ("the Korean one", "on which benchmark")
    assert own_ask("for Nepali") == ("for Nepali", "")
