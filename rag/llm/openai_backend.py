"""The ``openai`` backend: the openai SDK against OpenAI or any OpenAI-compatible server.

Configured by the standard ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` plus ``RAG_LLM_MODEL`` and
``RAG_LLM_TIMEOUT``. The SDK's own retries are switched off (``max_retries=0``): the answer pipeline
retries with its own bounded backoff so it can fall back to the extractive answer with one notice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from rag.config import Settings
from rag.llm.base import LLMCallError, Message, abandoned

DEFAULT_MODEL = "gpt-4o-mini"


def configured(settings: Settings) -> bool:
    """An OpenAI key or an OpenAI-compatible endpoint is set (the registry offers the mode only then)."""
    return bool(settings.openai_api_key or settings.openai_base_url)


def _retry_after(exc) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def translate(exc: Exception, where: str) -> LLMCallError:
    """One LLMCallError for any openai / httpx failure."""
    import httpx
    import openai

    if isinstance(exc, LLMCallError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return LLMCallError("timeout", f"no answer from {where}")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return LLMCallError("unreachable", f"cannot connect to {where}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return LLMCallError("auth", str(exc.message), status)
        if status == 429:
            return LLMCallError("rate_limit", str(exc.message), status, _retry_after(exc))
        if status >= 500:
            return LLMCallError("server", str(exc.message), status)
        return LLMCallError("bad_request", str(exc.message), status)
    return LLMCallError("bad_request", f"{type(exc).__name__}: {exc}")


def _redacted(err: LLMCallError, settings: Settings) -> LLMCallError:
    """``err`` with credentials removed from its detail *before* anyone truncates or shows it: servers echo
    request headers in 400 messages, and a key cut in half no longer matches the configured secret."""
    from rag.security import redact

    err.detail = redact(err.detail, settings)
    err.args = (err.detail or err.kind,)
    return err


_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


def is_small_model(name: str) -> bool:
    """True for models under ~1B parameters by their name ("SmolLM2-135M-Instruct", "qwen2.5:0.5b").

    Such models get the small-model pipeline (best evidence sentences, top sources, short answers), the
    same one the in-process local model gets, whichever server hosts them.
    """
    match = _SIZE.search(name.rsplit("/", 1)[-1])
    if not match:
        return False
    size, unit = float(match.group(1)), match.group(2).lower()
    return unit == "m" or size < 1


class OpenAIBackend:

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self.settings = settings
        self.where = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
        self.attempts = 1 + settings.llm_retries
        self.client = OpenAI(api_key=settings.openai_api_key or "sk-no-key-required",
                             base_url=settings.openai_base_url or None, timeout=settings.llm_timeout, max_retries=0)
        self._model = settings.llm_model

    @property
    def model(self) -> str:
        """RAG_LLM_MODEL; else the server's first model (llama.cpp, Ollama, vLLM); else gpt-4o-mini."""
        if not self._model:
            if self.settings.openai_base_url:
                try:
                    listed = self.client.with_options(timeout=min(5.0, self.settings.llm_timeout)).models.list()
                    self._model = next((m.id for m in listed.data), "") or DEFAULT_MODEL
                except Exception as exc:
                    raise _redacted(translate(exc, self.where), self.settings) from exc
            else:
                self._model = DEFAULT_MODEL
        return self._model

    @property
    def small(self) -> bool:
        try:
            return is_small_model(self.model)
        except Exception:  # the server is down: decided again on the next call, which will fail anyway
            return False

    @property
    def label(self) -> str:
        name = self._model or self.settings.llm_model or DEFAULT_MODEL
        return f"{name.rsplit('/', 1)[-1]} (openai @ {self.where})"

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float, stop: list[str],
               timeout: float) -> Iterator[str]:
        deadline = time.monotonic() + timeout
        response = None
        try:
            response = self.client.with_options(timeout=timeout).chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                stop=stop[:4] or None, stream=True,  # OpenAI accepts at most 4 stop sequences
            )
            for chunk in response:
                if abandoned():  # the client has gone: stop reading (the response is closed below)
                    return
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    yield delta
                if time.monotonic() > deadline:
                    raise LLMCallError("timeout", f"{self.where} took longer than {timeout:g} s")
        except GeneratorExit:
            raise
        except Exception as exc:
            raise _redacted(translate(exc, self.where), self.settings) from exc
        finally:
            if response is not None:
                response.close()
