"""Exceptions whose ``str`` is the one line a user sees (CLI, UI, API all print it as is)."""


class RagError(Exception):
    """Base class: anything the engine reports to a user without a stack trace."""


class CorpusError(RagError):
    """A corpus file cannot be read or parsed; names the file (and line where it applies)."""


class BadQuestion(RagError):
    """Empty, oversized or otherwise unusable question."""


class IndexUnavailable(RagError):
    """The Chroma index cannot be reached (server down) or opened."""


class EmptyIndex(RagError):
    """Nothing has been ingested yet."""


class EmbedderUnavailable(RagError):
    """The remote embeddings endpoint (RAG_EMBED_BASE_URL) failed after retries or answered an error."""


class EmbedderMismatch(RagError):
    """The index holds vectors of a different embedding model (or dimension) than this engine computes."""
