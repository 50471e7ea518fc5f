"""Answerability signals over retrieved papers (rag.signals); term matching itself is tests/test_terms.py."""

from __future__ import annotations

from rag.signals import FEATURES, measure
from rag.types import Hit


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


def test_a_measured_value_must_stand_beside_what_it_measures():
    """"What MMLU score does Yi-34B achieve?" against an abstract that names MMLU but gives its numbers elsewhere
    is a near miss: the score is not stated."""
    vague = "Yi models are strong on MMLU. We train on 3.1 trillion tokens."
    stated = "Yi-34B reaches 76.3 on MMLU. We train on 3.1 trillion tokens."
    assert _values("What MMLU score does Yi-34B achieve?", "Yi", vague)["asked"] == 0.0
    assert _values("What MMLU score does Yi-34B achieve?", "Yi", stated)["asked"] == 1.0


def test_a_terse_value_question_asks_for_the_word_before_its_measure():
    abstract = "Qwen2.5 reaches strong results on math and coding benchmarks at 72B."
    assert _values("qwen2.5-72b-instruct mmlu number", "Qwen2.5 Technical Report", abstract)["asked"] == 0.0
    assert _values("qwen2.5 coding score", "Qwen2.5 Technical Report", abstract)["asked"] == 1.0
    assert _values("self-sup pretraining on lidar - results", "Qwen2.5", abstract)["asked"] == 1.0, "nothing named"


def test_who_proposed_needs_a_paper_that_introduces_the_name():
    user = ("HYPEROFA: token embeddings", "We improve on OFA, a method that initializes embeddings.")
    maker = ("OFA: Initializing embeddings", "We propose OFA, which initializes token embeddings.")
    assert _values("Who proposed OFA?", *user)["origin"] == 0.0
    assert _values("Who proposed OFA?", *maker)["origin"] == 1.0
    assert _values("What does OFA do?", *user)["origin"] == 1.0, "only origin questions are checked"


def test_a_lookup_by_a_split_spelling_matches_the_title():
    values = _values("dino v2", "DINOv2: Learning Robust Visual Features", "We present DINOv2.")
    assert values["lookup"] == 1.0 and values["cov"] == 1.0
