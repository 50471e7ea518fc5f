"""What a failed LLM call means for an answer: its classification, the wait before a retry, the notice.

The answer pipeline never raises an LLM failure to the user: it retries what is worth retrying
(:attr:`LLMCallError.retryable`) after :func:`backoff`, then shows the extractive answer with the one
line :func:`notice_for` writes.
"""

from __future__ import annotations

from rag.llm.base import Backend, LLMCallError

BACKOFF_BASE, BACKOFF_MAX = 0.5, 8.0


def call_error(exc: Exception) -> LLMCallError:
    """Any failure of an LLM call, classified (unknown errors count as a bad request: not retried)."""
    return exc if isinstance(exc, LLMCallError) else LLMCallError("bad_request", f"{type(exc).__name__}: {exc}")


def backoff(attempt: int, err: LLMCallError) -> float:
    """Seconds before retry ``attempt + 1``: the server's Retry-After when sensible, else exponential."""
    if err.retry_after is not None and 0 <= err.retry_after <= BACKOFF_MAX:
        return err.retry_after
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt)


def notice_for(err: LLMCallError, backend: Backend | None, attempts: int) -> str:
    """The one line shown above the extractive answer that replaced the model's."""
    where = backend.where if backend is not None else "LLM"
    subject = "The local model" if where == "in-process" else f"The LLM at {where}"
    tail = "showing the extractive answer."
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if err.kind == "auth":
        return f"{subject} rejected the API key (HTTP {err.status}): check OPENAI_API_KEY; {tail}"
    if err.kind == "timeout":
        return f"{subject} did not answer in time (RAG_LLM_TIMEOUT) {tries}; {tail}"
    if err.kind == "unreachable":
        return f"{subject} was unreachable {tries}; {tail}"
    if err.kind == "rate_limit":
        return f"{subject} is rate-limiting requests (HTTP 429) {tries}; {tail}"
    if err.kind == "server":
        return f"{subject} returned a server error (HTTP {err.status}) {tries}; {tail}"
    if err.kind == "load":
        return f"The local model could not be loaded ({err.detail}); {tail}"
    detail = f"HTTP {err.status}: " if err.status else ""
    return f"{subject} could not answer ({detail}{err.detail[:160]}); {tail}"


def cut_short(err: LLMCallError, backend: Backend, attempt: int) -> str:
    """The notice when the model failed after part of its answer was already shown."""
    return f"{notice_for(err, backend, attempt + 1).split(';')[0]}; the answer may be incomplete."
