"""What the UI reads from the index once, at start-up: the header's facts, the filters' choices and the
example questions. A failing index must not stop the page from loading, so every read degrades to
"nothing to offer" plus a reason the header can show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from rag.engine import Engine
from rag.errors import RagError

log = logging.getLogger("paperchat.ui")

#: Candidate example questions about the bundled corpus, each with a word its answering paper's title
#: must contain. Only those whose paper is actually in the index are offered (see :func:`examples`).
EXAMPLES = [
    ("How does Tower+ balance translation quality with general chat ability?", "Tower+"),
    ("What is CodeT5+ and which code tasks does it support?", "CodeT5+"),
    ("Does pre-training on synthetic data help offline reinforcement learning?", "Synthetic Data"),
    ("How does Madeleine use multiple stains to pretrain slide representations?", "Multistain"),
    ("What is an infinite learning rate schedule for continual pre-training?", "Infinite Learning Rate"),
]


def empty_catalog() -> dict:
    """The catalog of an index that cannot be read: no years and no files to filter by."""
    return {"papers": 0, "dated": 0, "years": {}, "sources": []}


def examples(engine: Engine) -> list[str]:
    """Example questions whose answering paper is in this index (a custom corpus gets none rather than duds)."""
    picked = []
    for question, must_contain in EXAMPLES:
        try:
            hits = engine.search(question, k=1)
        except RagError:
            return []
        if hits and must_contain.lower() in hits[0].title.lower():
            picked.append(question)
    return picked


def index_facts(engine: Engine) -> tuple[dict | None, str]:
    try:
        return engine.stats(), ""
    except RagError as exc:
        return None, str(exc)
    except Exception as exc:  # a down Chroma server must not stop the UI from starting
        log.warning("index stats failed: %s", exc)
        return None, f"index unavailable ({type(exc).__name__})"


def index_catalog(engine: Engine) -> dict:
    try:
        return engine.catalog()
    except Exception as exc:  # the filters fall back to no choices; the header already says what is wrong
        log.warning("index catalog failed: %s", exc)
        return empty_catalog()


@dataclass(frozen=True)
class IndexFacts:
    """The index as the page shows it: ``stats`` is ``None`` (with the ``problem``) when it cannot be read."""

    stats: dict | None
    problem: str
    catalog: dict = field(default_factory=empty_catalog)
    examples: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, engine: Engine) -> IndexFacts:
        stats, problem = index_facts(engine)
        catalog = index_catalog(engine) if stats else empty_catalog()
        sample = examples(engine) if stats and stats.get("papers") else []
        return cls(stats, problem, catalog, sample)

    @property
    def file_labels(self) -> dict[str, str]:
        """Corpus file name -> its readable label (the listing's date heading or first title)."""
        return {s["name"]: s["label"] for s in self.catalog["sources"]}
