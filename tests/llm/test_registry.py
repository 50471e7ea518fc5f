"""The backend registry: every mode list derives from it, and adding a backend is one entry plus its module.

The example backend is the one docs/llm.md shows under "Adding a backend", run as it is written there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from rag.config import LLMMode
from rag.evaluation.runner import EvalConfig
from rag.llm.registry import BACKENDS, BackendEntry, available_modes, mode_help, mode_names, resolve_mode
from tests.conftest import make_settings
from tests.llm.conftest import TOWER, TOWER_Q, share_components

DOCS = Path(__file__).resolve().parents[2] / "docs" / "llm.md"


def example_backend() -> dict:
    """The namespace of the example backend module in docs/llm.md."""
    text = DOCS.read_text(encoding="utf-8").split("<!-- example: backend -->", 1)[1]
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block, "docs/llm.md: the example marker must be followed by a ```python block"
    scope: dict = {}
    exec(compile(block.group(1), "docs/llm.md (example backend)", "exec"), scope)
    return scope


@pytest.fixture
def echo(monkeypatch) -> BackendEntry:
    scope = example_backend()
    entry = BackendEntry("echo", "first source's evidence, no model", scope["available"], scope["EchoBackend"])
    monkeypatch.setitem(BACKENDS, "echo", entry)
    return entry


def test_every_mode_list_is_the_registry():
    assert mode_names() == ("auto", "openai", "local", "extractive")
    assert get_args(LLMMode) == mode_names()
    assert set(mode_help()) == set(mode_names()) and mode_help()["local"] == "SmolLM2, CPU"
    assert mode_help()["auto"] == "openai when configured, else extractive"


def test_a_registered_backend_is_offered_and_answers_through_engine_ask(engine, echo):
    fresh = share_components(engine, engine.settings)  # its own backends
    assert "echo" in mode_names() and "echo" in available_modes(fresh.settings) and "echo" in fresh.available_modes()
    assert resolve_mode("auto", make_settings(Path("/unused"))) == "extractive", "auto picks only entries marked auto"
    assert EvalConfig.parse("llm=echo").llm == "echo"
    answer = fresh.ask(TOWER_Q, llm="echo")
    assert answer.mode == "echo" and answer.model == "echo (example)" and not answer.notice, answer.notice
    assert [c.title for c in answer.citations] == [TOWER]
    tower = next(h for h in answer.sources if h.title == TOWER)
    quoted = [s for s in re.split(r"\s*\[1\]\s*", answer.text) if s]
    assert quoted and all(s in tower.abstract for s in quoted), "the example writes the abstract's own sentences"


def test_a_backend_that_cannot_be_built_gives_the_extractive_answer_with_a_notice(engine, monkeypatch):
    from rag.llm.base import LLMCallError

    def missing(settings):
        raise LLMCallError("load", "the example library is not installed")

    monkeypatch.setitem(BACKENDS, "broken", BackendEntry("broken", "never builds", lambda s: True, missing))
    answer = share_components(engine, engine.settings).ask(TOWER_Q, llm="broken")
    assert answer.mode == "extractive" and answer.citations
    assert "could not be loaded (the example library is not installed)" in answer.notice
