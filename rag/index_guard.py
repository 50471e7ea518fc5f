"""What every search checks first: the index has chunks, and they are vectors of this engine's model.

Counting the chunks is a scan in Chroma (about 90 ms at 1,000,000 chunks, more than the search itself),
so a non-empty index is remembered per collection revision: every ingest that writes or deletes bumps
the revision (rag.ingest.pipeline) before it changes anything, and the revision is read again from
Chroma before each search (:meth:`rag.store.Store.refresh`, a constant-time look-up), so an ingest by this
process or another one makes the next search count again.

A search that races an ingest can still count while chunks are being deleted, at the new revision; so a
search that finds nothing at all counts again before it answers "no results" (:meth:`IndexGuard.confirm`):
an index emptied by a prune is always reported as empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.errors import EmptyIndex

if TYPE_CHECKING:
    from rag.embed import Embedder
    from rag.store import Store

EMPTY = "The index is empty: run `rag ingest` first."


class IndexGuard:
    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store, self.embedder = store, embedder
        self._checked: int | None = None  # the revision last counted and found non-empty

    def check(self) -> None:
        """EmptyIndex or EmbedderMismatch, counting only when the revision changed since the last check."""
        from rag.embed import check_index_embedder

        self.store.refresh()
        revision = self.store.get_revision()
        if revision == self._checked:
            return
        count = self.store.count()
        if count == 0:
            raise EmptyIndex(EMPTY)
        check_index_embedder(self.store, self.embedder, count=count)  # metadata already in memory
        self._checked = revision

    def confirm(self) -> None:
        """After a search that found nothing: EmptyIndex if the index was emptied since it was last counted."""
        self._checked = None
        revision = self.store.get_revision()  # read before counting: a later bump must count again
        if self.store.count() == 0:
            raise EmptyIndex(EMPTY)
        self._checked = revision

    def forget(self) -> None:
        """Count again at the next check (after this process wrote to the index)."""
        self._checked = None
