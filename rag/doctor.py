"""Index checks: ``rag doctor`` reports each part of the index (never raises); ``/healthz`` probes them.

For ``rag doctor`` the components are passed as zero-argument callables (the engine's lazy properties): building one
can fail too (an embedding model that cannot be found), and that is reported like any other check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable, RagError

if TYPE_CHECKING:
    from rag.bm25 import BM25Index
    from rag.embed import Embedder
    from rag.store import Store

Check = tuple[str, bool, str]


def run_checks(store: Callable[[], Store], embedder: Callable[[], Embedder],
               bm25: Callable[[], BM25Index]) -> list[Check]:
    """(check, passed, detail) for Chroma, a vector search, BM25 and the sentence-vector cache."""
    checks: list[Check] = []

    def run(name: str, fn: Callable[[], object]) -> object:
        try:
            detail = fn()
            checks.append((name, True, str(detail)))
            return detail
        except Exception as exc:
            message = str(exc) if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"
            checks.append((name, False, " ".join(message.split())[:300]))
            return None

    count = run("chroma", lambda: f"{store().count()} chunks at {store().location}")
    if count is not None:
        run("vector search", lambda: f"{len(store().query(embedder().embed_query('health'), 1)['ids'][0])} hit")

        def lexical() -> str:
            index = bm25()
            state = index._read_state()
            if state.get("revision") != store().get_revision():
                return "stale (rebuilt on the next query or by `rag ingest --rebuild`)"
            retriever = index._load() if state.get("docs") else None
            return f"{int(retriever.bm25.scores['num_docs']) if retriever else 0} documents in {index.dir}"

        run("bm25", lexical)
    run("sentence cache", lambda: f"{embedder().sentence_store.check()} vectors in {embedder().sentence_store.path}")
    return checks


def probe(store: Store, bm25: BM25Index) -> None:
    """A tiny search through each index an answer needs (Chroma's vectors, BM25); raises the first failure.

    A stored vector, not an embedded question: the check exercises the vector index without loading the
    embedding model, so it stays fast on a cold start.
    """
    vector = store.sample_embedding()
    if vector is None or not store.query(vector, 1).get("ids", [[]])[0]:
        raise IndexUnavailable(f"The vector index at {store.location} returned nothing for a test "
                               "search: repair it with `rag ingest --rebuild`.")
    bm25.search("health check paper model", 1, fixes=[])
