"""Plain dataclasses that cross module boundaries: what the engine returns to every client.

They are deliberately framework-free (no llama-index node types leak out), so the CLI, UI, HTTP API
and eval harness serialise the same objects with ``to_dict``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass
class Paper:
    """One paper as parsed from a corpus file (before chunking)."""

    title: str
    abstract: str
    sources: list[str] = field(default_factory=list)
    authors: int | None = None
    date: date | None = None
    upvotes: int | None = None
    url: str = ""
    id: str = ""  # stable id derived from the normalized title, set by the parser


@dataclass
class Filters:
    """Search restrictions. Dates are inclusive; ``sources`` are corpus file names."""

    date_from: date | None = None
    date_to: date | None = None
    sources: list[str] = field(default_factory=list)

    @classmethod
    def years(cls, year_from: int | None = None, year_to: int | None = None, sources=None) -> Filters:
        return cls(
            date_from=date(year_from, 1, 1) if year_from else None,
            date_to=date(year_to, 12, 31) if year_to else None,
            sources=list(sources or []),
        )

    def is_empty(self) -> bool:
        return not (self.date_from or self.date_to or self.sources)


@dataclass
class Hit:
    """A retrieved paper: its best chunk is the evidence."""

    paper_id: str
    title: str
    score: float  # fused score used for ranking
    snippet: str  # the evidence chunk text (without the title line)
    dense: float = 0.0  # cosine similarity of the best chunk (0 when not retrieved densely)
    bm25: float = 0.0  # BM25 score of the best chunk (0 when not retrieved lexically)
    date: str = ""  # ISO date, when known
    authors: int | None = None
    upvotes: int | None = None
    url: str = ""
    sources: list[str] = field(default_factory=list)
    abstract: str = ""  # the full abstract (all chunks), for answerers and support checks

    def to_dict(self, full: bool = False) -> dict:
        data = {"title": self.title, "paper_id": self.paper_id, "score": round(self.score, 6),
                "snippet": self.snippet}
        if full:
            data.update(dense=round(self.dense, 4), bm25=round(self.bm25, 4), date=self.date,
                        authors=self.authors, upvotes=self.upvotes, url=self.url, sources=self.sources)
        return data


@dataclass
class Citation:
    """One cited paper. ``number`` is the ``[n]`` in the answer text: 1..m in order of first use, so a
    reader never meets [3] before [1]; ``source`` is the paper's 1-based rank in ``Answer.sources``."""

    title: str
    paper_id: str
    number: int = 0  # the [n] marker used in the answer text
    url: str = ""  # the paper's own URL, else a title search link (rag.answer.citations.paper_url)
    date: str = ""  # ISO date, when the corpus gives one
    authors: int | None = None  # number of authors, when the corpus gives it
    source: int = 0  # rank of the paper in Answer.sources (what the cards and the prompt number)

    def to_dict(self) -> dict:
        """The one citation shape of every client: ``{"n", "title", "paper_id", "url", "date"?, "authors"?}``."""
        data: dict = {"n": self.number, "title": self.title, "paper_id": self.paper_id, "url": self.url}
        if self.date:
            data["date"] = self.date
        if self.authors:
            data["authors"] = self.authors
        return data


@dataclass
class Answer:
    """What ``Engine.ask`` returns. ``text`` carries inline [n] markers; titles live in ``citations``."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    sources: list[Hit] = field(default_factory=list)
    refused: bool = False
    mode: str = "extractive"
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""  # e.g. "LLM unreachable; showing the extractive answer"
    language: str = "en"  # the question's language (rag.language), e.g. "es"
    unsupported: list[str] = field(default_factory=list)  # answer sentences without a valid citation
    standalone_question: str = ""  # the condensed query used for retrieval in chats

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "sources": [h.to_dict() for h in self.sources],
            "refused": self.refused,
            "mode": self.mode,
            "model": self.model,
            "notice": self.notice,
            "language": self.language,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "standalone_question": self.standalone_question or self.question,
        }

    def render(self) -> str:
        """Answer text followed by a Sources list of cited titles, for terminals and chat UIs."""
        if not self.citations:
            return self.text
        lines = [self.text, "", "Sources:"]
        lines += [f"[{c.number}] {c.title}" for c in self.citations]
        return "\n".join(lines)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    papers: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class AnswerStream:
    """A typed answer stream: iterate for the text deltas (``str`` only), then read ``.answer``.

    Replaces the ``for item in engine.stream(...): if isinstance(item, Answer)`` loops: clients that
    show text as it arrives iterate; clients that want the result read ``.answer`` (which drains
    whatever was not read yet). Built on the engine's ``str | Answer`` generator, so both stay in step.
    """

    def __init__(self, items: Iterable[str | Answer]) -> None:
        self._items = iter(items)
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        for item in self._items:
            if isinstance(item, Answer):
                self._answer = item
            elif item:
                yield item

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self:
                pass
        if self._answer is None:
            raise RuntimeError("an answer stream ended without its Answer")
        return self._answer


def final_answer(stream: Iterable[str | Answer]) -> Answer:
    """Drain an answer stream (text deltas, then the Answer) and return the Answer.

    Every non-streaming caller (Engine.ask, ChatSession.ask, the HTTP API) needs exactly this.
    """
    answer = None
    for item in stream:
        if isinstance(item, Answer):
            answer = item
    if answer is None:
        raise RuntimeError("an answer stream ended without its Answer")
    return answer
