"""Warm the sentence-vector store with every abstract sentence of the index, split as answers split them.

Lives in the answer layer because the sentences must be exactly those the answerers embed
(:func:`rag.answer.extractive.split_sentences`); the embedding layer below only runs the warm-up.
"""

from __future__ import annotations

import threading

from rag.answer.extractive import split_sentences
from rag.embed import start_warming


def index_sentences(store) -> list[str]:
    """Every abstract sentence of the index, split as answers split them (rag.answer.extractive)."""
    abstracts = {str(m.get("paper_id")): str(m.get("abstract", "")) for m in store.chunk_table().values()}
    return [s for abstract in abstracts.values() for s in split_sentences(abstract)]


def warm_index_sentences(engine) -> tuple[threading.Thread, threading.Event]:
    """Persist the vectors of every abstract sentence of ``engine``'s index, in the background.

    Called once per engine by ``Engine.stream``: after the first minutes of a new index (or once for
    an index built before the store existed) no answer pays for encoding abstract sentences.
    """
    return start_warming(engine.embedder, lambda: index_sentences(engine.store))
