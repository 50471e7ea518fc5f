"""Eval datasets: JSONL questions with the paper titles that answer them (``[]`` = should refuse).

Validation happens before any question is run: a malformed line or an expected title that is not in
the index would otherwise show up as a silently wrong metric after minutes of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.ingest.parse import json_object
from rag.text import normalize_title


class DatasetError(RagError):
    """The eval dataset cannot be used; the message names the file and line."""


@dataclass
class EvalItem:
    id: str
    question: str
    expected_titles: list[str] = field(default_factory=list)
    kind: str = ""
    answer_keywords: list[str] = field(default_factory=list)
    line: int = 0  # 1-based line number in the dataset file, for error messages

    @property
    def answerable(self) -> bool:
        return bool(self.expected_titles)

    @property
    def expected_keys(self) -> set[str]:
        return {normalize_title(t) for t in self.expected_titles}


def _str_list(value, name: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: {name!r} must be a list of strings")
    return [v for v in value if v.strip()]


def parse_line(text: str, line: int, source: str = "dataset") -> EvalItem | None:
    """One JSONL line -> item; ``None`` for blank lines. Unknown keys are ignored."""
    if not text.strip():
        return None
    where = f"{source} line {line}"
    data = json_object(text, where, DatasetError, "not valid JSON", "expected a JSON object, got {type}")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: missing 'question' (a non-empty string)")
    kind = data.get("kind") or ""
    if not isinstance(kind, str):
        raise DatasetError(f"{where}: 'kind' must be a string")
    return EvalItem(
        id=str(data.get("id") or f"line-{line}"),
        question=question.strip(),
        expected_titles=_str_list(data.get("expected_titles"), "expected_titles", where),
        kind=kind or ("unanswerable" if not data.get("expected_titles") else "other"),
        answer_keywords=_str_list(data.get("answer_keywords"), "answer_keywords", where),
        line=line,
    )


def load_dataset(path: Path, limit: int | None = None, split: str | None = None) -> list[EvalItem]:
    """Parse and check a dataset file (syntax and duplicate ids); ``split`` ("train"/"test", see
    rag.evaluation.split) keeps that part; ``limit`` then keeps the first N questions."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"dataset {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {path} cannot be read ({type(exc).__name__}: {exc})") from None
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        item = parse_line(line, number, str(path))
        if item is None:
            continue
        if item.id in seen:
            raise DatasetError(f"{path} line {number}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"dataset {path} has no questions")
    if split:
        from rag.evaluation.split import split_of

        if split not in ("train", "test"):
            raise DatasetError(f"unknown split {split!r}: use train or test")
        items = [item for item in items if split_of(item.expected_titles, item.id) == split]
    return items[:limit] if limit else items


def indexed_titles(engine) -> dict[str, str]:
    """normalized title -> title, for every paper in the engine's index."""
    return {normalize_title(str(m.get("title", ""))): str(m.get("title", ""))
            for m in engine.store.chunk_table().values() if m.get("title")}


def check_titles(items: list[EvalItem], known: dict[str, str], source: str = "dataset") -> None:
    """Raise one line naming the first expected title that the index does not hold (and how many more)."""
    missing = [(item, title) for item in items for title in item.expected_titles
               if normalize_title(title) not in known]
    if missing:
        item, title = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetError(f"{source} line {item.line}: expected title {title!r} is not in the index{more}")
