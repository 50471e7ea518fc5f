"""The shared text helpers (rag.text): each variant keeps the behaviour its callers were measured with."""

from __future__ import annotations

import pytest

from rag.text import (
    NAME_TOKEN,
    PHRASE_TOKEN,
    SPELLING_TOKEN,
    TERM_TOKEN,
    at_sentence_start,
    clean_text,
    compound_words,
    fold,
    is_identifier,
    is_name,
    looks_like_name,
    name_words,
    normalize_title,
    normalize_words,
    sentences,
    split_sentences,
    stem,
    stopwords,
    strip_markers,
)


def test_fold_strips_accents_and_reads_the_times_sign_as_x_unless_told_not_to():
    assert fold("Sabiá TÜLU 2×") == "sabia tulu 2x"
    assert fold("Sabiá TÜLU 2×", times_as_x=False) == "sabia tulu 2"


def test_stems_and_stopwords():
    assert stem("Pretraining") == stem("pretrain")
    assert {"the", "which", "paper", "using"} <= stopwords() and "tower" not in stopwords()


@pytest.mark.parametrize(("pattern", "text", "tokens"), [
    (NAME_TOKEN, "GPT-4 pass@1 CodeT5+ 8×A100 e.g.", ["GPT-4", "pass@1", "CodeT5+", "8×A100", "e.g"]),
    (PHRASE_TOKEN, "ERNIE-3.0 pass@1", ["ERNIE-3.0", "pass", "1"]),
    (TERM_TOKEN, "CLIP-style pass@1 v1.5", ["CLIP", "style", "pass@1", "v1.5"]),
    (SPELLING_TOKEN, "dino v2, codet5+ x-ray", ["dino", "v2", "codet5+", "x", "ray"]),
], ids=["name", "phrase", "term", "spelling"])
def test_word_tokens_differ_only_in_what_a_word_may_hold(pattern, text, tokens):
    assert pattern.findall(text) == tokens


def test_lowercase_word_helpers():
    assert name_words("What is CodeT5+ versus v1.5?") == {"codet5+", "v1.5"}
    assert compound_words("Pre-training on ImageNet-1k") == ["pretraining", "on", "imagenet1k"]


def test_the_name_rules():
    assert is_name("GPT-4", first=True) and is_name("Chinchilla") and not is_name("Chinchilla", first=True)
    assert not is_name("A") and is_name("A", min_length=1)
    assert is_identifier("CLIP-style") and not is_identifier("non-English")
    assert looks_like_name("codet5+") and looks_like_name("GLUE") and not looks_like_name("Chinchilla")


def test_sentence_splitters():
    abstract = "We study e.g. the data. 42 models were trained here. Short one. (Also) a note that ends here."
    assert split_sentences(abstract) == ["We study e.g. the data.", "42 models were trained here.",
                                         "(Also) a note that ends here."]
    assert sentences("One [1]. Two [2] Three. ") == ["One [1].", "Two [2] Three."]
    assert sentences("One [1] Two.", after_marker=True) == ["One [1]", "Two."]
    assert at_sentence_start("Is it? What now", 7) and not at_sentence_start("Is it what", 6)
    assert strip_markers("Claim [1]. Other [2][3].") == "Claim. Other."


def test_titles_compare_equal_across_listings():
    assert clean_text('T\\"ULU  reaches 71\\%') == "TÜLU reaches 71%"
    assert normalize_title("{D}en{o}ising: T\\\"ULU!") == normalize_title("Denoising - TÜLU")
    assert normalize_words("{D}en{o}ising 2.5x") == "d en o ising 2 5x", "no LaTeX step"


def test_stopwords_are_nltks_list_read_without_importing_llama_index():
    """The first search that needs them must not pay for importing llama_index.core (4 s, 150 MB)."""
    import subprocess
    import sys

    code = ("import sys; from rag.text import stopwords; words = stopwords(); "
            "print(len(words), 'llama_index.core' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"
    from llama_index.core.utils import globals_helper

    from rag.text import QUESTION_WORDS, stopwords

    assert stopwords() == frozenset(globals_helper.stopwords) | QUESTION_WORDS and int(out[0]) == len(stopwords())
