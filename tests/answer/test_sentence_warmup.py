"""The warm-up embeds exactly the sentences answers embed: each paper's abstract once, split as answers split it."""

from __future__ import annotations

from rag.answer.extractive import split_sentences
from rag.answer.sentence_warmup import index_sentences

ABSTRACT = ("We study empirical scaling laws for language model performance. "
            "Larger models are significantly more sample-efficient than smaller ones.")


class TwoChunkStore:
    """One paper indexed as two chunks (a long abstract) and one single-chunk paper."""

    def chunk_table(self) -> dict[str, dict]:
        return {"a:0": {"paper_id": "a", "abstract": ABSTRACT}, "a:1": {"paper_id": "a", "abstract": ABSTRACT},
                "b:0": {"paper_id": "b", "abstract": "Short."}}


def test_each_abstract_is_split_once_like_the_answers_split_it():
    assert index_sentences(TwoChunkStore()) == split_sentences(ABSTRACT)
