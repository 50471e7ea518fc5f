"""A question's terms and their exact match after normalisation of numbers and names (rag.terms)."""

from __future__ import annotations

import pytest

from rag.terms import Term, counted_noun, numbers, paper_terms, question_terms, split_spellings
from rag.text import squash


@pytest.mark.parametrize(("question_form", "abstract_form"), [
    ("53k", "53,000"), ("53k", "53 thousand"), ("ten", "10"), ("1.5t", "1.5 trillion"), ("1.5T", "1.5 trillion"),
    ("3 percent", "3%"), ("7b", "7 billion"), ("2 trillion", "2T"), ("thirty", "30"),
    ("the 12-billion-parameter model", "12B"), ("twelve-billion-parameter", "12 billion"),
    ("a 3-trillion-token corpus", "3T tokens"), ("one million prompts", "1M prompts"), ("20-percent", "20%"),
])
def test_numbers_compare_by_value(question_form, abstract_form):
    assert numbers(question_form) & numbers(abstract_form)


def test_a_hyphenated_scale_word_is_part_of_its_number_not_a_term_to_find():
    """"What does the 78-billion-parameter InternVL3 score?" asked for 78 and the word "billion" (both missing
    from an abstract that says "78B"); the question's number is 78 billion."""
    terms = [(t.text, t.kind) for t in question_terms("What does the 78-billion-parameter InternVL3 score?")]
    assert terms == [("7.8e+10", "number"), ("parameter", "word"), ("InternVL3", "name"), ("score", "word")]
    assert numbers("1.5-Pints") == {1.5}  # a hyphen before a word that is no scale still ends the number


def test_numbers_inside_names_are_not_numbers():
    assert numbers("GPT-4 and WMT24 with ViT-L/14 v2") == set()
    assert numbers("3.0%/5.2% WER") == {3.0, 5.2}
    # a name that starts with digits is a name: "And 360Zhinao?" must not ask for "Zhinao" and the number 360
    assert numbers("360Zhinao and 3D scenes") == set()
    assert [(t.text, t.kind) for t in question_terms("And 360Zhinao?")] == [("360Zhinao", "name")]
    assert numbers("360Zhinao on 3.4T tokens, 53k rows, 10x faster") == {3.4e12, 53e3, 10.0}


def test_kind_of_is_framing_not_a_term_an_abstract_must_mention():
    """"What kind of text was EduBERT pretrained on?" was refused because no abstract says "kind"."""
    assert [t.text for t in question_terms("What kind of text was EduBERT pretrained on?")] == [
        "text", "EduBERT", "pretrained"]
    assert [t.text for t in question_terms("which types of tokenizer")] == ["tokenizer"]


@pytest.mark.parametrize(("question", "expected"), [
    ("list all the ERNIE papers in the collection", ["ERNIE"]),
    ("Which ones in your corpus augment pretraining with thoughts?", ["ones", "augment", "pretraining", "thoughts"]),
    ("What does the corpus say about in-context learning?", ["say", "context", "learning"]),
    ("How many tokens are in the corpus?", ["tokens", "corpus"]),  # a paper's corpus: the word counts
    ("How many documents are in the Dolma corpus?", ["documents", "Dolma", "corpus"]),
])
def test_the_collection_a_question_is_asked_of_is_no_term_an_abstract_must_mention(question, expected):
    """"list all the ERNIE papers in the collection" was refused because no abstract says "collection"."""
    assert [t.text for t in question_terms(question)] == expected


def test_a_clipped_chat_word_matches_the_word_it_clips_and_an_everyday_word_does_not():
    """"which model arch did they run everything on" was refused: no abstract says "arch"."""
    paper = paper_terms("Rewarming", "We continue pretraining on 300 billion tokens with a fixed architecture.")
    assert paper.whole.has(Term("arch", "word")) and paper.whole.has(Term("toks", "word"))
    camera = paper_terms("Egocentric video", "A camera worn on the head records the video.")
    assert not camera.whole.has(Term("came", "word")), "an everyday word is no clipping"
    assert not paper.whole.has(Term("Arch", "word")), "a capitalised word is a name, never a clipping"
    assert not paper.whole.has(Term("tok", "name"))


def test_one_is_a_number_only_where_it_counts_something():
    """"which one is the babylm paper" asks for no number 1 (the gate would miss it in every abstract)."""
    for pronoun in ("which one is the babylm curriculum paper?", "same q for the portuguese one", "one of the models"):
        assert numbers(pronoun) == set(), pronoun
    assert numbers("pretrained for one epoch on ten datasets") == {1.0, 10.0}


@pytest.mark.parametrize(("a", "b"), [
    ("CodeT5 plus", "CodeT5+"), ("OLMo-2", "olmo 2"), ("olmo2", "OLMo 2"), ("X-2", "X2"), ("gpt 4", "GPT-4"),
])
def test_name_spellings_squash_to_one_form(a, b):
    assert squash(a) == squash(b)


def test_question_terms_split_numbers_names_and_words():
    terms = question_terms("how many tokens did CodeT5 plus see, 53k or ten?")
    kinds = {(t.kind, t.text if t.kind != "number" else t.value) for t in terms}
    assert ("number", 53000.0) in kinds and ("number", 10.0) in kinds
    assert ("name", "CodeT5 plus") in kinds
    assert ("word", "tokens") in kinds
    assert not any(t.text.lower() in {"how", "many", "did", "or"} for t in terms)


def test_names_match_their_variants_but_not_other_versions():
    paper = paper_terms("CodeT5+: Open Code LLMs", "We present OLMo 2 and CodeT5+ trained on 53,000 files.")
    assert paper.whole.has(Term("codet5 plus", "name"))
    assert paper.whole.has(Term("olmo2", "name"))
    assert paper.whole.has(Term("OLMo-2", "name"))
    assert paper.whole.has(Term("53000", "number", 53000.0))
    assert not paper.whole.has(Term("CodeT5", "name")), "a version is another model: CodeT5 is not CodeT5+"
    assert not paper.whole.has(Term("olmo3", "name"))
    assert not paper.whole.has(Term("Thai", "word")), "no word-vector neighbours: Thai is not Korean"


def test_split_spellings_give_the_other_form_of_a_versioned_name():
    assert split_spellings("what is olmo2") == ["olmo 2"]
    assert "dinov2" in split_spellings("dino v2 features") and "codet5+" in split_spellings("codet5 plus paper")


@pytest.mark.parametrize("question, expected, not_expected", [
    ("How long did it take to pretrain 1.5-Pints?", {"pretrain", "Pints"}, {"pretrain 1", "pretrain 1.5"}),
    ("What exact 0-shot MMLU accuracy does UL2 20B reach?", {"exact", "shot", "MMLU"}, {"exact 0"}),
    ("crystal code+language llm trained on how many tokens", {"code", "language"}, {"code+language"}),
    ("What does CodeT5+ add over C++ tooling in OLMo 2?", {"CodeT5+", "C++", "OLMo 2"}, {"CodeT5", "OLMo"}),
    ("tower plus", {"tower plus"}, {"plus"}),  # the version word belongs to the name only
    ("codet5-plus paper", {"codet5-plus"}, {"plus", "codet5"}),
    ("How many parameters does GPT-4 have?", {"GPT-4"}, {"GPT"}),  # a version is never its base
])
def test_question_terms_do_not_glue_words_to_numbers_or_pluses_they_do_not_belong_to(question, expected, not_expected):
    """A refusal names these terms ("No indexed abstract mentions ..."), and the gate weighs them."""
    texts = {t.text for t in question_terms(question) if t.kind != "number"}
    assert expected <= texts
    assert not (not_expected & texts)


def test_a_count_question_needs_a_number_next_to_the_thing_it_counts():
    """The counted thing is the head of the noun phrase (its last word before a preposition or verb): "how
    many pretraining tokens" counts tokens, so an abstract stating "2 trillion tokens" has the answer type."""
    assert counted_noun("how many pretraining tokens did deepseek llm use?") == "tokens"
    assert counted_noun("How many hours of video were used?") == "hours"
    assert counted_noun("how many GPU hours did it take") == "hours"
    abstract = "We pretrain on a dataset of 2 trillion tokens. The pretraining recipe is simple."
    paper = paper_terms("DeepSeek LLM", abstract)
    assert paper.typed("how many pretraining tokens did DeepSeek LLM use?")
    assert not paper.typed("how many pretraining GPUs did DeepSeek LLM use?")


def test_a_paper_introduces_the_name_its_title_leads_with_or_a_we_propose_sentence_names():
    """"Who invented DPO?" is not answered by a paper that only uses it: a name elsewhere in the title is not
    what the paper introduces."""
    convmae = paper_terms("ConvMAE: Masked Convolution Meets Masked Autoencoders", "We study masked autoencoders.")
    assert convmae.introduces("ConvMAE") and not convmae.introduces("Masked Autoencoders")
    dpo = paper_terms("Aligning Large Language Models with Counterfactual DPO", "We align models with DPO variants.")
    assert not dpo.introduces("DPO")
    tower = paper_terms("A suite of translation models", "In this work we present Tower+, a suite of models.")
    assert tower.introduces("Tower+")
