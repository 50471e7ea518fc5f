"""Answerability signals: exact matching after normalisation of numbers and names (rag.signals)."""

from __future__ import annotations

import pytest

from rag.signals import FEATURES, Term, measure, numbers, paper_terms, question_terms, squash
from rag.types import Hit


@pytest.mark.parametrize(("question_form", "abstract_form"), [
    ("53k", "53,000"), ("53k", "53 thousand"), ("ten", "10"), ("1.5t", "1.5 trillion"), ("1.5T", "1.5 trillion"),
    ("3 percent", "3%"), ("7b", "7 billion"), ("2 trillion", "2T"), ("thirty", "30"),
])
def test_numbers_compare_by_value(question_form, abstract_form):
    assert numbers(question_form) & numbers(abstract_form)


def test_numbers_inside_names_are_not_numbers():
    assert numbers("GPT-4 and WMT24 with ViT-L/14 v2") == set()
    assert numbers("3.0%/5.2% WER") == {3.0, 5.2}


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


def _hit(title: str, abstract: str, dense: float = 0.5) -> Hit:
    return Hit(paper_id=title, title=title, score=1.0, snippet=abstract, abstract=abstract, dense=dense)


def test_a_term_no_abstract_contains_is_reported_absent():
    hits = [_hit("KoBigBird", "We pretrain a Korean BigBird model for long documents.")]
    df = {"korean": 3, "pretrain": 50, "model": 200, "languag": 100}.get

    signals = measure("Which paper pretrains a model for Sanskrit?", hits, [], lambda s: df(s, 0), 400)
    assert signals.absent == ["Sanskrit"]
    assert signals.values["oov"] > 0
    assert list(signals.values) == list(FEATURES)

    known = measure("Which paper pretrains a model for Korean?", hits, [], lambda s: df(s, 0), 400)
    assert known.absent == [] and known.values["oov"] == 0 and known.values["cov"] == 1.0


def test_a_misspelling_that_bm25_corrects_is_not_absent():
    hits = [_hit("MosaicBERT", "MosaicBERT is a fast BERT.")]
    signals = measure("what is mosiacbert", hits, [], lambda s: 0, 400, fixes=["mosaicbert"])
    assert signals.absent == []


def test_a_missing_rare_term_is_the_near_miss_signal():
    hits = [_hit("Tower+", "Tower+ balances translation and chat. Models at 2B, 9B and 72B.")]
    df = {"glue": 2, "score": 80, "tower+": 1}.get
    signals = measure("What GLUE score does Tower+ get?", hits, [], lambda s: df(s, 1), 400)
    assert "GLUE" in signals.missing
    assert signals.values["miss"] > 0.6
    assert signals.values["cov"] < 1


def _values(question: str, title: str, abstract: str) -> dict:
    return measure(question, [_hit(title, abstract)], [], lambda s: 1, 400).values


def test_count_questions_need_the_counted_thing_next_to_a_number():
    abstract = "Tower+ supports many languages. It was trained in 2024 on 10 GPUs."
    assert _values("How many languages does Tower+ support?", "Tower+", abstract)["typed"] == 0.0
    assert _values("How many GPUs trained Tower+?", "Tower+", abstract)["typed"] == 1.0


def test_when_questions_need_a_date():
    assert _values("When was Llama 3 released?", "Llama 3 notes", "Llama 3 is released with open weights.")["typed"] == 0
    assert _values("When was Llama 3 released?", "Llama 3 notes", "Llama 3 was released in April 2024.")["typed"] == 1


def test_the_asked_for_attribute_must_be_in_the_paper_names_included():
    abstract = "Tower+ reaches strong translation quality at 2B, 9B and 72B."
    assert _values("What COMET score does Tower+ 72B get?", "Tower+", abstract)["asked"] == 0.0
    assert _values("What translation quality does Tower+ reach?", "Tower+", abstract)["asked"] == 1.0
    assert _values("What accuracy does Tower+ reach?", "Tower+", abstract)["asked"] == 1.0, "a bare measure: numbers"


def test_who_proposed_needs_a_paper_that_introduces_the_name():
    user = ("HYPEROFA: token embeddings", "We improve on OFA, a method that initializes embeddings.")
    maker = ("OFA: Initializing embeddings", "We propose OFA, which initializes token embeddings.")
    assert _values("Who proposed OFA?", *user)["origin"] == 0.0
    assert _values("Who proposed OFA?", *maker)["origin"] == 1.0
    assert _values("What does OFA do?", *user)["origin"] == 1.0, "only origin questions are checked"


def test_a_lookup_by_a_split_spelling_matches_the_title():
    values = _values("dino v2", "DINOv2: Learning Robust Visual Features", "We present DINOv2.")
    assert values["lookup"] == 1.0 and values["cov"] == 1.0
