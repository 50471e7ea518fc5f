"""What a loaded lexical index is, and what an ingest reports to the journal as it writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rag.bm25.journal import Journal, RowReader


@dataclass
class LexicalModel:
    """A loaded index: the bm25s model (score matrix + vocabulary), the journal row of each index row,
    the stemmer, and the journal to read hit texts from."""

    bm25: Any
    rows: Any
    stemmer: Any
    reader: RowReader

    def stem(self, word: str) -> str:
        return self.stemmer.stemWord(word) if self.stemmer is not None else word

    @cached_property
    def accented(self) -> dict[str, str]:
        """Vocabulary stems with accents, by their plain spelling: "sabia" -> "sabiá". Why: the index keeps
        accents (as llama-index's BM25 does), and people type "Sabia" or "Tulu" for "Sabiá" and "Tülu"."""
        from rag.text import fold

        return {fold(v): v for v in self.bm25.vocab_dict if not v.isascii()}

    def chunks(self, rows: list[int]) -> dict[int, tuple[str, str, dict]]:
        """index row -> (chunk id, text, metadata) for ``rows``."""
        journal_rows = {int(self.rows[r]): r for r in rows}
        return {journal_rows[jr]: chunk for jr, chunk in self.reader.fetch(list(journal_rows)).items()}


class Follower:
    """What ingest reports as it writes: chunks added and removed, then the revision it wrote."""

    def __init__(self, journal: Journal | None) -> None:
        self.journal = journal
        self.revision: int | None = None

    def added(self, chunks: Iterable[tuple[str, str, dict]]) -> None:
        if self.journal is not None:
            self.journal.add(chunks)

    def removed(self, ids: list[str]) -> None:
        if self.journal is not None and ids:
            self.journal.remove(ids)

    def done(self, revision: int) -> None:
        self.revision = revision
