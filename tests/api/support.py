"""Helpers shared by the API and reliability tests (imported as ``tests.api.support``)."""

from __future__ import annotations

from pathlib import Path

from rag import Engine
from tests.conftest import make_settings

TOKEN = "test-token-5f1c2a9e"


def engine_sharing_model(base: Engine, index_dir: Path, **overrides) -> Engine:
    """A new extractive engine on ``index_dir`` that reuses ``base``'s loaded embedding model.

    Loading MiniLM costs seconds on this machine; the model is read-only at inference, so tests that
    need their own index borrow the session engine's copy.
    """
    return Engine(make_settings(index_dir, **{"llm": "extractive", **overrides}), embedder=base.embedder)
