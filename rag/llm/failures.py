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


#: The notice per failure kind; any other kind gets the generic line at the end of :func:`notice_for`.
_NOTICES = {
    "auth": "{subject} rejected the API key (HTTP {status}): check OPENAI_API_KEY; {tail}",
    "timeout": "{subject} did not answer in time (RAG_LLM_TIMEOUT) {tries}; {tail}",
    "unreachable": "{subject} was unreachable {tries}; {tail}",
    "rate_limit": "{subject} is rate-limiting requests (HTTP 429) {tries}; {tail}",
    "server": "{subject} returned a server error (HTTP {status}) {tries}; {tail}",
    "load": "The local model could not be loaded ({detail}); {tail}",
}


def notice_for(err: LLMCallError, backend: Backend | None, attempts: int) -> str:
    """The one line shown above the extractive answer that replaced the model's."""
    where = backend.where if backend is not None else "LLM"
    subject = "The local model" if where == "in-process" else f"The LLM at {where}"
    tail = "showing the extractive answer."
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    template = _NOTICES.get(err.kind)
    if template is not None:
        return template.format(subject=subject, status=err.status, tries=tries, detail=err.detail, tail=tail)
    detail = f"HTTP {err.status}: " if err.status else ""
    return f"{subject} could not answer ({detail}{err.detail[:160]}); {tail}"


def cut_short(err: LLMCallError, backend: Backend, attempt: int) -> str:
    """The notice when the model failed after part of its answer was already shown."""
    return f"{notice_for(err, backend, attempt + 1).split(';')[0]}; the answer may be incomplete."
