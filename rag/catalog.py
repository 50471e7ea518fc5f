"""What the index holds, in words a user can pick from: readable corpus-file labels and the dated years.

Corpus files are often scraped listings with opaque names (``000_00cd969e66f315a9.txt``); a filter
that lists those names is useless. Each file gets a label from its date heading ("Sep 9") when the
listing has one, and from its first paper's title otherwise; the raw name stays the filter value.
Year choices come from the papers' dates, with how many papers are dated at all, because a year
filter silently drops every undated paper.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_MONTH_DAY = re.compile(r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}(?:, \d{4})?$")
LABEL_TITLE_CHARS = 46


def _shorten(title: str, limit: int = LABEL_TITLE_CHARS) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rsplit(" ", 1)[0].rstrip(" :,-") + "…"


def file_overview(path: Path) -> tuple[str, str]:
    """(date heading, first title) of a corpus file on disk; empty strings when unknown or unreadable."""
    from rag.errors import RagError
    from rag.ingest.parse import parse_file

    heading = ""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for _, line in zip(range(40), handle, strict=False):
                if _MONTH_DAY.match(line.strip()):
                    heading = line.strip()
                    break
        papers = parse_file(path)
    except (OSError, RagError, ValueError):
        return heading, ""
    return heading, papers[0].title if papers else ""


def source_label(name: str, papers: int, heading: str = "", first_title: str = "") -> str:
    """e.g. ``Sep 9 listing · Detection-Oriented Image-Text… (12 papers)``."""
    parts = []
    if heading:
        parts.append(f"{heading} listing")
    if first_title:
        parts.append(_shorten(first_title, LABEL_TITLE_CHARS - (14 if heading else 0)))
    text = " · ".join(parts) or name
    return f"{text} ({papers} paper{'s' if papers != 1 else ''})"


def build(table: dict[str, dict[str, Any]], corpus_dir: Path | None = None) -> dict:
    """The catalog of a chunk table (``Store.chunk_table``): sources with labels, and year counts."""
    papers: dict[str, dict[str, Any]] = {}
    for meta in table.values():
        papers.setdefault(str(meta.get("paper_id")), meta)
    by_source: dict[str, list[str]] = {}
    for meta in papers.values():
        for source in str(meta.get("sources", "")).split("|"):
            if source:
                by_source.setdefault(source, []).append(str(meta.get("title", "")))
    sources = []
    for name in sorted(by_source):
        heading, first = file_overview(Path(corpus_dir) / name) if corpus_dir and (Path(corpus_dir) / name).is_file() \
            else ("", "")
        first = first or min(by_source[name], default="")
        sources.append({"name": name, "label": source_label(name, len(by_source[name]), heading, first),
                        "papers": len(by_source[name])})
    years = Counter(str(meta.get("date", ""))[:4] for meta in papers.values() if str(meta.get("date", ""))[:4].isdigit())
    return {"papers": len(papers), "dated": sum(years.values()), "years": dict(sorted(years.items(), reverse=True)),
            "sources": sources}
