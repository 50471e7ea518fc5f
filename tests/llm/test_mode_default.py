"""The default answer mode follows the measurements: openai when configured, else extractive (never SmolLM2)."""

from __future__ import annotations

from pathlib import Path

from rag.llm import available_modes, resolve_mode
from tests.conftest import make_settings


def test_auto_is_extractive_without_an_llm_endpoint_even_when_the_local_model_is_installed():
    settings = make_settings(Path("/unused"))
    assert resolve_mode("auto", settings) == "extractive"
    assert resolve_mode("local", settings) == "local"  # still selectable


def test_auto_is_openai_when_an_endpoint_is_configured():
    assert resolve_mode("auto", make_settings(Path("/unused"), openai_base_url="http://127.0.0.1:9/v1")) == "openai"
    assert resolve_mode("auto", make_settings(Path("/unused"), openai_api_key="sk-test")) == "openai"


def test_the_mode_list_still_offers_extractive_and_auto():
    modes = available_modes(make_settings(Path("/unused")))
    assert modes[0] == "auto" and modes[-1] == "extractive"
