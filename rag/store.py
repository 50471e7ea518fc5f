"""The Chroma collection: embedded ``PersistentClient`` on disk, or a Chroma server via ``HttpClient``.

llama-index's ``ChromaVectorStore`` writes and queries the chunks; the raw collection is used for the
bookkeeping it does not offer (listing ids and content hashes, deleting a paper's chunks, counting).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from rag.config import Settings
from rag.errors import IndexUnavailable

#: Metadata keys of a chunk that hold paper facts (everything but the bookkeeping keys).
PAPER_KEYS = ("paper_id", "title", "date", "date_num", "authors", "upvotes", "url", "sources", "abstract")


class Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def location(self) -> str:
        s = self.settings
        if s.uses_chroma_server:
            return f"{'https' if s.chroma_ssl else 'http'}://{s.chroma_host}:{s.chroma_port}"
        return str(s.index_dir / "chroma")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn connection failures into one clear line instead of a stack trace."""
        try:
            yield
        except IndexUnavailable:
            raise
        except Exception as exc:  # chromadb raises many types for a server that is down
            text = f"{type(exc).__name__}: {exc}"
            if self.settings.uses_chroma_server and _looks_like_connection_error(text):
                for cached in ("client", "collection", "vector_store"):  # reconnect when the server is back
                    self.__dict__.pop(cached, None)
                raise IndexUnavailable(
                    f"Chroma server at {self.location} is unreachable ({type(exc).__name__}); "
                    "start it with `chroma run --path DIR` or fix RAG_CHROMA_HOST/RAG_CHROMA_PORT"
                ) from None
            if not self.settings.uses_chroma_server and _looks_damaged(exc):
                for cached in ("client", "collection", "vector_store"):
                    self.__dict__.pop(cached, None)
                raise IndexUnavailable(
                    f"The Chroma index at {self.location} is damaged or unreadable ({type(exc).__name__}); "
                    "repair it with `rag ingest --rebuild` (the damaged copy is moved aside)"
                ) from None
            raise

    @cached_property
    def client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        s = self.settings
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        with self._guard():
            if s.uses_chroma_server:
                client = chromadb.HttpClient(
                    host=s.chroma_host, port=s.chroma_port, ssl=s.chroma_ssl,
                    headers=s.chroma_headers or None, settings=chroma_settings,
                )
                client.heartbeat()
                return client
            (s.index_dir / "chroma").mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(s.index_dir / "chroma"), settings=chroma_settings)

    @cached_property
    def collection(self):
        """The corpus collection, with the configured HNSW search breadth (``RAG_HNSW_EF_SEARCH``).

        Why the breadth matters: Chroma rebuilds an HNSW graph of fewer than ``sync_threshold`` (1000)
        vectors from its log at every start, with several threads, so the graph differs from run to run;
        at Chroma's ef_search of 100 the same question then retrieved different neighbours after a
        restart (rankings and eval figures moved by a question or two on the dev set). A breadth near
        the collection size makes the search exact and repeatable; indexes made before are raised once.
        """
        ef = self.settings.hnsw_ef_search
        with self._guard():
            collection = self.client.get_or_create_collection(
                self.settings.collection, configuration={"hnsw": {"space": "cosine", "ef_search": ef}}
            )
            hnsw = (collection.configuration or {}).get("hnsw") or {}
            if hnsw.get("ef_search") not in (None, ef):
                collection.modify(configuration={"hnsw": {"ef_search": ef}})
            return collection

    @cached_property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    # --- bookkeeping ---------------------------------------------------------------------------
    def count(self) -> int:
        with self._guard():
            return self.collection.count()

    def max_batch_size(self) -> int:
        with self._guard():
            try:
                return int(self.client.get_max_batch_size())
            except Exception:
                return 5000

    def chunk_table(self) -> dict[str, dict[str, Any]]:
        """id -> metadata for every chunk (paged, so large collections do not blow a request)."""
        table: dict[str, dict[str, Any]] = {}
        page = 5000
        with self._guard():
            offset = 0
            while True:
                got = self.collection.get(include=["metadatas"], limit=page, offset=offset)
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    table[cid] = meta or {}
                if len(got["ids"]) < page:
                    return table
                offset += page

    def all_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) for every chunk, paged: feeds the BM25 rebuild."""
        page = 2000
        with self._guard():
            offset = 0
            while True:
                got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
                yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                if len(got["ids"]) < page:
                    return
                offset += page

    def titled(self, title: str) -> tuple[str, str, dict[str, Any]] | None:
        """(id, text, metadata) of one chunk of the paper with exactly this title, or None."""
        with self._guard():
            got = self.collection.get(where={"title": title}, include=["documents", "metadatas"], limit=1)
        return (got["ids"][0], got["documents"][0], got["metadatas"][0] or {}) if got["ids"] else None

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        step = self.max_batch_size()
        with self._guard():
            for i in range(0, len(ids), step):
                self.collection.delete(ids=ids[i : i + step])

    def add_nodes(self, nodes: list) -> None:
        """Upsert embedded llama-index nodes in batches the server accepts."""
        step = self.max_batch_size()
        with self._guard():
            for i in range(0, len(nodes), step):
                self.vector_store.add(nodes[i : i + step])

    def query(self, embedding: list[float], k: int, where: dict | None = None) -> dict:
        with self._guard():
            return self.collection.query(
                query_embeddings=[embedding], n_results=k, where=where,
                include=["documents", "metadatas", "distances"],
            )

    def sample_embedding(self) -> list[float] | None:
        """One stored chunk vector (for health checks that must not load the embedding model)."""
        with self._guard():
            got = self.collection.get(limit=1, include=["embeddings"])
            embeddings = got.get("embeddings")
            return [float(x) for x in embeddings[0]] if embeddings is not None and len(embeddings) else None

    def refresh(self) -> None:
        """Read the collection's record (revision, embedder) again: one constant-time look-up, not a count.

        Why: a collection object keeps the metadata it was fetched with, so an ingest by another process
        (another client of the same Chroma server, or a second embedded process) would otherwise go unseen
        by this one's revision checks (the BM25 copy, the emptiness check of ``Engine.search``).
        """
        if "collection" not in self.__dict__:
            self.collection  # noqa: B018 - the first fetch is fresh already
            return
        from chromadb.errors import NotFoundError

        with self._guard():
            try:
                self.__dict__["collection"] = self.client.get_collection(self.settings.collection)
            except NotFoundError:  # deleted by another process: start again from an empty one
                for cached in ("collection", "vector_store"):
                    self.__dict__.pop(cached, None)
                self.collection  # noqa: B018

    def get_revision(self) -> int:
        with self._guard():
            return int((self.collection.metadata or {}).get("revision", 0))

    def metadata(self) -> dict[str, Any]:
        """The collection's own metadata: the revision and the embedder record (rag.embed)."""
        with self._guard():
            return dict(self.collection.metadata or {})

    def update_metadata(self, values: dict[str, Any]) -> None:
        """Merge ``values`` into the collection metadata (Chroma's modify replaces it whole)."""
        with self._guard():
            meta = {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}
            self.collection.modify(metadata={**meta, **values})

    def bump_revision(self) -> int:
        """Mark the collection changed; BM25 copies compare against this to know they are stale."""
        revision = self.get_revision() + 1
        self.update_metadata({"revision": revision})
        return revision


def _looks_damaged(exc: Exception) -> bool:
    """True for the errors a damaged embedded store raises (SQLite or HNSW files truncated or overwritten).

    Bad requests (a malformed ``where`` filter: ValueError/TypeError) are not damage.
    """
    if isinstance(exc, (ValueError, TypeError, KeyError)) and "database" not in str(exc).lower():
        return False
    text = f"{type(exc).__name__}: {exc}".lower()
    needles = ("not a database", "malformed", "disk image", "corrupt", "no such table", "sqlite", "database",
               "hnsw", "segment", "internalerror", "unexpected eof", "truncated", "error returned from database",
               "no such column", "file is encrypted")
    return any(n in text for n in needles)


def reset_client_cache() -> None:
    """Forget chromadb's per-path client cache, so a re-created store directory is opened afresh."""
    try:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # an older or newer chromadb without the cache: nothing to forget
        pass


def _looks_like_connection_error(text: str) -> bool:
    needles = ("connect", "connection", "refused", "timed out", "timeout", "unreachable", "resolve",
               "could not", "502", "503", "504", "remoteprotocol", "network")
    low = text.lower()
    return any(n in low for n in needles)
