"""Warm the sentence-vector store with every abstract sentence of the index, split as answers split them.

Lives in the answer layer because the sentences must be exactly those the answerers embed
(:func:`rag.text.split_sentences`); the embedding layer below only runs the warm-up.
"""

from __future__ import annotations

from rag.text import split_sentences


def index_sentences(store) -> list[str]:
    """Every abstract sentence of the index, split as answers split them."""
    abstracts = {str(m.get("paper_id")): str(m.get("abstract", "")) for m in store.chunk_table().values()}
    return [s for abstract in abstracts.values() for s in split_sentences(abstract)]

