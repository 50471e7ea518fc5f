"""What every LLM backend provides, and the one error type the answer pipeline has to understand.

Backends stream text deltas for a list of chat messages. Failures are translated into
:class:`LLMCallError` with a ``kind`` so the caller can decide, in one place, what is worth a retry
(timeouts, connection errors, 429, 5xx) and what is not (a bad key, a malformed request).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

Message = dict[str, str]

#: kinds worth retrying with backoff; everything else fails fast.
RETRYABLE = frozenset({"timeout", "unreachable", "rate_limit", "server"})


_abandoned: ContextVar[threading.Event | None] = ContextVar("rag_abandoned", default=None)


def abandon_signal() -> threading.Event:
    """An event a server sets when the client of the current request has gone (e.g. disconnected mid-stream).

    It is a context variable, so the worker threads that run this request's answer see it too: a backend
    checks :func:`abandoned` between tokens and stops generating for nobody, which frees the local
    model's lock within one token instead of after the whole answer.
    """
    event = threading.Event()
    _abandoned.set(event)
    return event


def abandoned() -> bool:
    """True when the request this code runs for has been abandoned by its client."""
    event = _abandoned.get()
    return event is not None and event.is_set()


class LLMCallError(Exception):
    """A failed LLM call. ``kind``: timeout | unreachable | rate_limit | server | auth | bad_request | load."""

    def __init__(self, kind: str, detail: str = "", status: int | None = None, retry_after: float | None = None):
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class Backend(Protocol):
    #: who produced the answer, shown to users, e.g. "SmolLM2-135M-Instruct (local)".
    label: str
    #: where the model runs, for notices, e.g. "http://127.0.0.1:8080/v1" or "in-process".
    where: str
    #: attempts worth making on retryable errors (1 + RAG_LLM_RETRIES for remote backends).
    attempts: int
    #: True for small local models: shorter prompts (best evidence sentences) and answers.
    small: bool

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float, stop: list[str],
               timeout: float) -> Iterator[str]:
        """Text deltas; raises LLMCallError. ``timeout`` bounds the whole call, not just one read."""
        ...


def complete(backend: Backend, messages: list[Message], *, max_tokens: int, temperature: float = 0.0,
             stop: list[str] | None = None, timeout: float) -> str:
    """The whole reply as one string (used for short calls such as follow-up condensation)."""
    return "".join(backend.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop or [],
                                  timeout=timeout))
