"""The search controls (answer mode, k, years, corpus files): their choices and their values as engine arguments.

Every value is checked here because the ``ask`` endpoint is reachable by any Gradio client with any JSON,
and a wrong value must come back as one readable line (a :class:`BadQuestion`), never a stack trace.
"""

from __future__ import annotations

import math

from rag.engine import Engine
from rag.errors import BadQuestion
from rag.llm import mode_help
from rag.types import Filters

#: The answer modes' short descriptions in the mode picker. The one place they are written down.
ANY_YEAR = "any"


def _year(value: str | int | None, which: str) -> int | None:
    text = str(value or "").strip()
    if not text or text.lower() == ANY_YEAR:
        return None
    if not text.isdigit() or not 1000 <= int(text) <= 9999:
        raise BadQuestion(f"The {which} year must be a four-digit year such as 2024, not {text!r}.")
    return int(text)


def filters_from(year_from: str | int | None, year_to: str | int | None, files: list[str] | None) -> Filters | None:
    """Controls -> Filters; ``None`` when nothing restricts the search."""
    y_from, y_to = _year(year_from, "'from'"), _year(year_to, "'to'")
    if y_from and y_to and y_from > y_to:
        raise BadQuestion(f"The date range is empty: 'from' year {y_from} is after 'to' year {y_to}.")
    filters = Filters.years(y_from, y_to, files or [])
    return None if filters.is_empty() else filters


def valid_k(value: object, upper: int = 50) -> int:
    """The number of papers as a whole number in 1..``upper``, or a one-line BadQuestion.

    The ``ask`` endpoint is public API: a client can send any JSON, and k=100000 made one request
    rank the whole index.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadQuestion(f"k must be a whole number from 1 to {upper} (the number of papers).")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        number = math.nan
    if not number.is_integer() or not 1 <= number <= upper:
        raise BadQuestion(f"k must be a whole number from 1 to {upper} (the number of papers), not {str(value)[:20]!r}.")
    return int(number)


def describe_filters(filters: Filters | None, catalog: dict | None) -> str:
    """The active filter in words, with how many papers it leaves, e.g. for a refused filtered question."""
    if filters is None:
        return ""
    catalog = catalog or {}
    parts = []
    y_from = filters.date_from.year if filters.date_from else None
    y_to = filters.date_to.year if filters.date_to else None
    if y_from or y_to:
        span = (f"{y_from}" if y_from == y_to else f"{y_from}–{y_to}" if y_from and y_to
                else f"{y_from} or later" if y_from else f"{y_to} or earlier")
        years = catalog.get("years", {})
        inside = sum(n for y, n in years.items() if (not y_from or int(y) >= y_from) and (not y_to or int(y) <= y_to))
        undated = catalog.get("papers", 0) - catalog.get("dated", 0)
        parts.append(f"only papers dated {span} were searched ({inside} paper{'s' if inside != 1 else ''}); "
                     f"the {undated} undated papers are left out by any year filter")
    if filters.sources:
        labels = {s["name"]: s["label"] for s in catalog.get("sources", [])}
        names = [labels.get(name, name) for name in filters.sources]
        parts.append("only " + ("the file " if len(names) == 1 else f"{len(names)} files: ") + "; ".join(names))
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ". Clear the filters under Search options to search every paper."


def year_choices(catalog: dict) -> list[tuple[str, str]]:
    """"any" plus the years papers are dated with, newest first, each with its paper count."""
    return [("any", ANY_YEAR)] + [(f"{y} ({n} paper{'s' if n != 1 else ''})", y) for y, n in catalog["years"].items()]


def year_info(catalog: dict) -> str:
    years = sorted(catalog["years"])
    span = f", {years[0]}–{years[-1]}" if len(years) > 1 else (f", {years[0]}" if years else "")
    return (f"{catalog['dated']} of {catalog['papers']} papers are dated{span}; a year filter leaves out the "
            f"{catalog['papers'] - catalog['dated']} undated ones.")


def mode_choices(engine: Engine) -> list[tuple[str, str]]:
    """(label, mode) for each mode this engine can answer in; auto says what it resolves to."""
    words = mode_help()
    choices = []
    for mode in engine.available_modes():
        label = f"auto ({engine.resolve_mode(mode)})" if mode == "auto" else f"{mode} · {words.get(mode, mode)}"
        choices.append((label, mode))
    return choices


def valid_mode(mode: object, modes: list[str]) -> str:
    """``mode`` if the engine offers it, else a one-line BadQuestion naming the choices."""
    if mode not in modes:
        raise BadQuestion(f"Unknown answer mode {str(mode)[:20]!r}: choose one of {', '.join(modes)}.")
    return str(mode)
