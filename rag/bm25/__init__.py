"""The lexical index: bm25s scores over a journal of chunk tokens (see rag.bm25.index)."""

from rag.bm25.index import BM25Index, Follower, LexicalModel, clear

__all__ = ["BM25Index", "Follower", "LexicalModel", "clear"]
