"""Keep every library off the network: Hugging Face, tiktoken, Chroma telemetry, Gradio analytics.

Imported first by ``rag/__init__`` so the switches are in place before any of those libraries loads.
Values the user already set are respected (``setdefault``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _llama_index_tiktoken_cache() -> str | None:
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return str(cache) if cache.is_dir() else None


def apply() -> None:
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TRANSFORMERS_VERBOSITY": "error",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DO_NOT_TRACK": "1",
        # torch and llama.cpp share one libgomp; spinning workers of one starve the other on a loaded
        # 2-core machine (llama.cpp generation fell from ~25 to ~1 token/s). Set before torch loads.
        "OMP_WAIT_POLICY": "PASSIVE",
    }.items():
        os.environ.setdefault(key, value)
    cache = _llama_index_tiktoken_cache()
    if cache:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", cache)
