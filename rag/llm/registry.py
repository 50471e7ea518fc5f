"""The LLM backend registry: one entry per backend, and every answer-mode list derived from it.

The answer modes are ``auto``, one per registered backend, and ``extractive`` (quotes, no model). The
settings' ``LLMMode`` (RAG_LLM), the evaluation harness, the CLI, the HTTP API and the UI all read
their mode names and help texts from here (:func:`mode_names`, :func:`mode_help`), so adding a backend
is one entry in :data:`BACKENDS` plus the module that implements it (docs/llm.md, "Adding a backend").

Why the entries name their functions as ``"module:function"`` strings: :mod:`rag.config` derives its
mode type from this table, and the backend modules read the settings, so this module sits below
:mod:`rag.config` and imports no backend; a reference is resolved (``pkgutil.resolve_name``) on first use.
An entry may give the callables themselves instead (tests register a tiny backend that way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pkgutil import resolve_name
from typing import Any

from rag.llm.base import Backend

AUTO = "auto"
EXTRACTIVE = "extractive"


@dataclass(frozen=True)
class BackendEntry:
    """One LLM backend. ``available`` and ``factory`` take the engine's :class:`rag.config.Settings`."""

    name: str
    #: a few words for mode pickers, e.g. "OpenAI API".
    help: str
    #: settings -> bool: is the backend usable here (configured, installed)? Offered only then.
    available: Callable[[Any], bool] | str
    #: settings -> Backend; raises rag.llm.base.LLMCallError (kind ``load``) when it cannot be built.
    factory: Callable[[Any], Backend] | str
    #: ``auto`` answers with the first such backend that is available (else extractive).
    auto: bool = False

    def is_available(self, settings: Any) -> bool:
        return bool(_resolve(self.available)(settings))

    def create(self, settings: Any) -> Backend:
        return _resolve(self.factory)(settings)


def _resolve(ref: Callable | str) -> Callable:
    return resolve_name(ref) if isinstance(ref, str) else ref


#: The backends, in the order mode pickers list them.
BACKENDS: dict[str, BackendEntry] = {entry.name: entry for entry in (
    # auto: measured better than the composed extractive answer only with a capable model (docs/answering.md).
    BackendEntry("openai", "OpenAI API", "rag.llm.openai_backend:configured", "rag.llm.openai_backend:OpenAIBackend",
                 auto=True),
    BackendEntry("local", "SmolLM2, CPU", "rag.llm.local:available", "rag.llm.local:create"),
)}


def mode_names() -> tuple[str, ...]:
    """Every answer mode: ``auto``, the backends, ``extractive``."""
    return (AUTO, *BACKENDS, EXTRACTIVE)


def mode_help() -> dict[str, str]:
    """A few words per mode, for ``--llm`` help, the API schema and the UI's mode picker."""
    chosen = " or ".join(name for name, entry in BACKENDS.items() if entry.auto)
    auto = f"{chosen} when configured, else {EXTRACTIVE}" if chosen else EXTRACTIVE
    return {AUTO: auto, **{name: entry.help for name, entry in BACKENDS.items()},
            EXTRACTIVE: "quoted evidence, no LLM"}


def resolve_mode(mode: str, settings: Any) -> str:
    """``auto`` is the first available backend marked ``auto`` (``openai`` when an OpenAI-compatible endpoint
    is configured), else ``extractive``; any other mode is itself.

    Why not the bundled SmolLM2 (``local``): measured on the question bank's test split, its answers had
    lower citation recall (0.704 vs 0.758), multi-paper recall (0.525 vs 0.774) and keyword recall (0.482
    vs 0.596) than the composed extractive answer, at ~100x the latency; only its citation precision was
    higher (0.936 vs 0.903). docs/answering.md has the tables. It stays selectable as ``local``.
    """
    if mode not in mode_names():
        raise ValueError(f"unknown answer mode {mode!r}; choose one of {', '.join(mode_names())}")
    if mode != AUTO:
        return mode
    return next((name for name, entry in BACKENDS.items() if entry.auto and entry.is_available(settings)), EXTRACTIVE)


def available_modes(settings: Any) -> list[str]:
    """The modes this installation can answer in: ``auto``, the available backends, ``extractive``."""
    return [AUTO, *(name for name, entry in BACKENDS.items() if entry.is_available(settings)), EXTRACTIVE]


class Backends:
    """The LLM backends of one engine, each created from its entry on first use and then kept (a local model
    loads once, an OpenAI client keeps its connections). ``given`` backends are used as they are."""

    def __init__(self, settings: Any, given: Mapping[str, Backend] | None = None) -> None:
        self.settings = settings
        self._made: dict[str, Backend] = dict(given or {})

    def get(self, mode: str) -> Backend:
        """The backend for ``mode``; raises LLMCallError (kind ``load``) when it cannot be built."""
        if mode not in self._made:
            if mode not in BACKENDS:
                raise ValueError(f"no LLM backend for answer mode {mode!r}")
            self._made[mode] = BACKENDS[mode].create(self.settings)
        return self._made[mode]
