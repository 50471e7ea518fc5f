"""LLM backends behind one interface (:mod:`rag.llm.base`), listed in one registry (:mod:`rag.llm.registry`).

Mode selection lives in the registry so every client agrees on ``auto``. This package imports no
settings: :mod:`rag.config` derives its mode type from the registry.
"""

from rag.llm.registry import available_modes, mode_help, mode_names, resolve_mode

__all__ = ["available_modes", "mode_help", "mode_names", "resolve_mode"]
