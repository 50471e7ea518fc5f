"""What a follow-up's answer says (rag.chat.reply)."""

from __future__ import annotations

from rag.chat.reply import not_stated, repeats

TORCHTITAN = "TorchTitan: One-stop PyTorch native solution for production ready LLM pre-training"


def test_not_stated_names_what_the_paper_does_not_mention():
    assert not_stated(TORCHTITAN, "and which dataset?", 1) == "The TorchTitan abstract does not mention a dataset [1]."
    assert not_stated(TORCHTITAN, "ok, how fast is it?", 2) == "The TorchTitan abstract does not answer “how fast is it?” [2]."


def test_repeats_ignore_case_spacing_and_markers():
    assert repeats("We present TorchTitan.", ["Intro. We  present torchtitan. [1] More."])
    assert not repeats("We present TorchTitan.", ["Something else [1]."])
