"""The answerability check's rules: what a question asks for, and how an abstract is found to mention it."""

from __future__ import annotations

import pytest

from rag.answerable import (
    PaperText,
    is_identifier,
    named_sources,
    parse_ask,
    term_coverage,
)
from rag.types import Hit


def paper(title: str, abstract: str) -> Hit:
    return Hit(paper_id=title[:8], title=title, score=1.0, snippet=abstract[:80], abstract=abstract)


def flat_idf(_word: str) -> float:
    return 1.0


TOWER = paper("Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs",
              "We develop models at multiple scales: 2B, 9B, and 72B. Tower+ is strong at translation and chat.")


@pytest.mark.parametrize(("question", "names", "attributes", "counts"), [
    ("What COMET score does Tower+ 72B get on WMT24?", ["COMET", "Tower+", "72B", "WMT24"], ["score"], False),
    ("How many GPUs were used to train the OLMo 2 13B model?", ["GPUs", "OLMo", "13B"], ["GPUs"][:0], True),
    ("What exact vocabulary size does MosaicBERT use?", ["MosaicBERT"], ["exact", "vocabulary", "size"], False),
    ("Which optimizer and beta values were used to train YuLan-Mini?", ["YuLan-Mini"], ["optimizer", "beta", "values"],
     False),
])
def test_parse_ask_finds_names_and_the_asked_for_attribute(question, names, attributes, counts):
    ask = parse_ask(question)
    assert ask.names == names
    assert ask.attributes == attributes
    assert ask.counts is counts


def test_capitalised_words_count_only_in_value_questions():
    # a paraphrase's geography is not a name the abstract must repeat...
    assert parse_ask("Is there work on transcribing recordings from northern Japan?").names == []
    # ...but in a value question it is what is asked about
    assert "Chinchilla" in parse_ask("According to the Chinchilla paper, what is the optimal number of tokens?").names


def test_identifiers():
    assert all(map(is_identifier, ["GPT-4", "CLIP-style", "WMT24", "MosaicBERT", "72B", "pass@1"]))
    assert not any(map(is_identifier, ["Chinchilla", "Japan", "non-English"]))


@pytest.mark.parametrize(("name", "abstract"), [
    ("EHR", "Models trained on electronic health records beat general ones."),  # acronym spelled out
    ("CLIP-style", "We pretrain CLIP on image-text pairs."),  # the named part
    ("MosaicBERT-Base", "MosaicBERT base reaches 79.6 on GLUE."),
    ("7B", "A 7 billion parameter model."),
    ("tulu3", "We release TÜLU 3, a family of post-trained models."),  # accents, letter-digit split
    ("MosiacBERT", "MosaicBERT is a fast BERT."),  # a typo in a long name
    ("URL", "Prepending URLs speeds up training."),  # stem
])
def test_names_match_the_ways_abstracts_write_them(name, abstract):
    assert PaperText(paper("A title", abstract)).has_name(name)


@pytest.mark.parametrize(("name", "abstract"), [
    ("GPT-4", "We compare with GPT-3 on 4 tasks."),  # a version is not its parts
    ("LoRA", "We adapt the model in a 4-bit QLoRA setting."),
    ("512x512", "We train at 256×256 resolution."),
    ("WMT24", "We evaluate on WMT23."),
    ("CodeT5+", "CodeT5 is an identifier-aware encoder-decoder."),  # a version is not a typo
])
def test_names_do_not_match_near_misses(name, abstract):
    assert not PaperText(paper("A title", abstract)).has_name(name)


def test_named_sources_keeps_the_papers_a_question_names():
    hubert = paper("HuBERT: Self-Supervised Speech Representation Learning", "HuBERT learns speech units.")
    other = paper("Language models reflect ideology", "We study LLM ideology.")
    assert named_sources("What is HuBERT?", [other, hubert]) == {2}
    assert named_sources("Is there work on speech?", [other, hubert]) == set()


def test_what_a_question_asks_for_is_not_a_name_that_picks_its_paper():
    """"How many GPUs were used to build Dolma" is about Dolma: answering it from the one abstract that says
    "GPUs" (MosaicBERT) quoted a paper the question never named."""
    dolma = paper("Dolma: an Open Corpus of Three Trillion Tokens", "Dolma is a three trillion token corpus.")
    mosaic = paper("MosaicBERT: A Bidirectional Encoder", "MosaicBERT trains in 1.13 hours on 8 A100 GPUs.")
    question = "How many tokens was Dolma built from, and how many GPUs were used to build it?"
    assert 2 not in named_sources(question, [dolma, mosaic])
    assert named_sources("What MMLU score does Yi-34B get?", [dolma, paper("Yi", "Yi-34B is strong on MMLU.")]) == {2}


@pytest.mark.parametrize("question, expected", [
    ("dino v2", {1}),  # not ptt5-v2: "v2" alone is in any "-v2" title
    ("What does ptt5 v2 release?", {2}),
    ("codet5 plus paper", {3}),  # not CodeT5
    ("What is CodeT5+?", {3}),
    ("What is CodeT5?", {4}),
    ("OLMo 2 results", {5}),  # the name written apart in the abstract too
    ("codet5-plus paper", {3}),
    ("mosaic bert", {7}),  # typed apart and lower case: the title that writes it as one name
    ("how does pre training on web data help?", set()),  # "Pre-training" in a title is no name
    ("wav2vec 2.0 with pseudo labels, what wer?", {10, 11}),  # glued in one title, apart in another abstract
])
def test_named_sources_reads_a_version_written_apart_as_part_of_the_name(question, expected):
    hits = [paper("DINOv2: Learning Robust Visual Features without Supervision", "We train a ViT."),
            paper("ptt5-v2: A Closer Look at Continued Pretraining of T5 Models", "We release ptt5-v2 checkpoints."),
            paper("CodeT5+: Open Code Large Language Models", "We propose CodeT5+, a family of LLMs for code."),
            paper("CodeT5: Identifier-aware Unified Pre-trained Encoder-Decoder Models", "We present CodeT5."),
            paper("2 OLMo 2 Furious", "We present OLMo 2, the next generation of our open models."),
            paper("OLMo: Accelerating the Science of Language Models", "We release OLMo."),
            paper("MosaicBERT: A Bidirectional Encoder Optimized for Fast Pretraining", "We introduce MosaicBERT."),
            paper("Patent Language Model Pretraining with ModernBERT", "A BERT for patents."),
            paper("Pre-training on web data", "We study pre training on web data."),
            paper("CPT-Boosted Wav2vec2.0: Noise Robust Speech Recognition", "We continue pretraining wav2vec2.0."),
            paper("Self-training and Pre-training are Complementary", "We pseudo-label with wav2vec 2.0 models.")]
    assert named_sources(question, hits) == expected


def test_sentence_starts_and_question_words_are_not_names():
    ask = parse_ask("What is the paper 'GLAP: General contrastive audio-text pretraining' about? What results does it report?")
    assert ask.names == ["GLAP"]


def test_term_coverage_matches_stems_and_weighs_rare_words_more():
    active = PaperText(paper("Improving Language Plasticity via Pretraining with Active Forgetting",
                             "We reset the embedding layer every K updates during pretraining."))
    question = "Is there a trick of periodically resetting token embeddings during pretraining?"
    # "resetting"/"reset", "embeddings"/"embedding", "pretraining": 3 of the 6 content words ("trick",
    # "periodically" and "token" are missing; "is", "there", "of", "during" are stopwords)
    assert term_coverage(question, active, flat_idf) == pytest.approx(3 / 6)

    def rare_reset(word: str) -> float:
        return 5.0 if word.startswith("reset") else 1.0

    assert term_coverage(question, active, rare_reset) == pytest.approx(7 / 10)
    assert term_coverage("the of and", active, flat_idf) == 0.0  # nothing but stopwords: no evidence either way


def test_term_coverage_counts_the_questions_names():
    """A follow-up condensed to "What is Tower+? which languages does it cover?" is about Tower+: the name
    weighs like any rare word, so a paper that only talks about languages does not cover it as well."""
    question = "What is Tower+? which languages does it cover?"
    langsamp = PaperText(paper("LangSAMP: Language-Script Aware Multilingual Pretraining",
                               "Language embeddings cover many languages and scripts."))

    def rare_name(word: str) -> float:
        return 8.0 if word == "tower+" else 1.0

    assert term_coverage(question, PaperText(TOWER), rare_name) > term_coverage(question, langsamp, rare_name)
    assert term_coverage("Was GPT-4 evaluated?", PaperText(paper("GPT-4 report", "We evaluate GPT-4.")), flat_idf) == 1.0


def test_a_name_glued_from_a_word_and_an_acronym_is_read_as_both_words():
    """"the Chinese mental health BERT" names Chinese MentalBERT; "RooseBERT" is a BERT-style model."""
    mental = PaperText(paper("Chinese MentalBERT: Domain-Adaptive Pre-training on Social Media for Chinese Mental "
                             "Health Text Analysis", "We release Chinese MentalBERT."))
    assert term_coverage("the Chinese mental health BERT", mental, flat_idf) == pytest.approx(1.0)
    assert mental.uses("bert") and not PaperText(paper("RoBERTa", "A robustly optimized approach.")).uses("bert")
