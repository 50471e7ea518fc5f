"""Thumbs up/down on answers, kept as JSONL beside the index (``<index_dir>/feedback.jsonl``).

One line per vote with the question, the answer text and its citations, so a later review (``rag
feedback --json``) can see exactly what the user judged without the chat that produced it. Appends are
serialised with a lock: the UI serves several tabs from one process.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import RagError

FILE_NAME = "feedback.jsonl"
_LOCK = threading.Lock()


def feedback_path(index_dir: Path) -> Path:
    return Path(index_dir) / FILE_NAME


def record(index_dir: Path, question: str, answer: str, citations: list[dict], liked: bool, **extra) -> dict:
    """Append one vote and return the stored record."""
    entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "rating": "up" if liked else "down",
             "question": question, "answer": answer, "citations": citations, **extra}
    path = feedback_path(index_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK, path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise RagError(f"Cannot save feedback to {path} ({exc.strerror or exc}).") from None
    return entry


def read(index_dir: Path) -> list[dict]:
    """Every stored vote, oldest first; a damaged line is skipped rather than hiding the others."""
    path = feedback_path(index_dir)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
