"""Fill an embedder's sentence-vector store in a background thread, so answers find their vectors stored.

Which texts to warm is the caller's business (the answer layer knows how it splits abstracts into
sentences); this module only runs the work without ever getting in an answer's way.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterable

from rag.embed.embedder import Embedder

log = logging.getLogger(__name__)


def start_warming(embedder: Embedder, texts: Callable[[], Iterable[str]]) -> tuple[threading.Thread, threading.Event]:
    """Fill ``embedder``'s sentence store from ``texts()`` in a background daemon thread (half duty cycle).

    ``texts`` is called in the thread (reading the index is part of the work). Returns the thread and
    the event that stops it. Errors are logged, never raised: warming is only a speed-up.
    """
    stop = threading.Event()

    def run() -> None:
        try:
            n = embedder.warm_sentences(texts(), stop)
            log.info("sentence-vector store: %d sentences embedded in the background", n)
        except Exception:  # noqa: BLE001 - a failed warm-up must never affect answers
            log.warning("sentence-vector warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="rag-sentence-warmup", daemon=True)
    thread.start()

    def finish() -> None:  # native code still running at interpreter shutdown can crash the process
        stop.set()
        thread.join(timeout=10)

    atexit.register(finish)
    return thread, stop
