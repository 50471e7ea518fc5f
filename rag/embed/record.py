"""Which embedder built an index, and the refusal to mix two models' vectors in one collection.

Vectors of different models are not comparable: a search through a collection holding both would
return nonsense without any error, so the collection metadata records the model and its dimension.
"""

from __future__ import annotations

from rag.config import Settings
from rag.embed.embedder import Embedder
from rag.embed.model import canonical_name
from rag.errors import EmbedderMismatch


def index_record(store, settings: Settings) -> tuple[str, int | None]:
    """(model name, dimension or None) of the vectors in ``store``'s collection.

    Recorded in the collection metadata by :func:`check_index_embedder`; an index written before the
    record existed was necessarily built by the local RAG_EMBED_MODEL, its dimension unknown.
    """
    meta = store.metadata()
    if meta.get("embedder"):
        dim = meta.get("embed_dim")
        return str(meta["embedder"]), int(dim) if dim else None
    return canonical_name(settings.embed_model), None


def check_index_embedder(store, embedder: Embedder, write: bool = False, count: int | None = None) -> None:
    """Refuse (one line) to query or extend an index built by another embedding model.

    ``write``: about to add vectors. Then the dimension is checked too (one probe embedding, which also
    proves a remote endpoint answers before anything is deleted) and the record is written on first use.
    An empty collection takes the new embedder's record. ``count``: the collection size, when known.
    """
    empty = (store.count() if count is None else count) == 0
    name, dim = index_record(store, embedder.settings)
    if not empty and name != embedder.name:
        raise EmbedderMismatch(
            f"The index {store.location} holds vectors of {name!r} but this engine embeds with {embedder.name!r}; "
            "use the same model (RAG_EMBED_MODEL / RAG_EMBED_REMOTE_MODEL) or a new RAG_COLLECTION / RAG_INDEX_DIR")
    if not write:
        return
    mine = embedder.dimension
    if not empty and dim is not None and dim != mine:
        raise EmbedderMismatch(
            f"The index {store.location} holds {dim}-dimensional vectors of {name!r} but {embedder.name!r} "
            f"returned {mine} dimensions; use a new RAG_COLLECTION / RAG_INDEX_DIR")
    if empty or dim is None:
        store.update_metadata({"embedder": embedder.name, "embed_dim": mine})
