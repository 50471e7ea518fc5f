"""paperchat: question answering over research-paper abstracts with cited titles.

The public surface is small: build an :class:`Engine` and call ``ingest`` / ``search`` / ``ask`` /
``stream`` / ``chat``. Heavy libraries (torch, chromadb, llama-index) load lazily on first use.
"""

from rag import offline as _offline

_offline.apply()

from rag.config import REFUSAL, Settings, get_settings  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.errors import (  # noqa: E402
    BadQuestion,
    CorpusError,
    EmbedderMismatch,
    EmbedderUnavailable,
    EmptyIndex,
    IndexUnavailable,
    RagError,
)
from rag.session import ChatSession  # noqa: E402
from rag.types import Answer, Citation, Filters, Hit, IngestReport, Paper  # noqa: E402

__all__ = [
    "REFUSAL", "Settings", "get_settings", "Engine", "ChatSession", "Answer", "Citation", "Filters", "Hit",
    "IngestReport", "Paper", "RagError", "CorpusError", "BadQuestion", "EmptyIndex", "IndexUnavailable",
    "EmbedderUnavailable", "EmbedderMismatch",
]
