"""Corpus file parsers: scraped "Daily Papers" listings (three layouts), JSONL and CSV.

The listing formats are not any standard a library parses, so they are read by hand here; JSONL and
CSV go through the standard library. Every error names the file (and line for JSONL/CSV) so a user
can fix it, and parsing never touches the index: a bad file is rejected before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.text import paper_id
from rag.text import clean_text, normalize_title
from rag.types import Paper

SUPPORTED_SUFFIXES = {".txt", ".md", ".jsonl", ".json", ".csv", ""}

_HEADER_LINES = {"new", "get trending papers in your email inbox!", "get trending papers in your email inbox once a day!",
                 "subscribe", "daily papers", "byak and the research community"}
_MONTH_DAY = re.compile(r"^[A-Z][a-z]{2,8} \d{1,2}$")
_SUBSCRIBE_TITLE = re.compile(r"^Subscribe(\S.*)$")
_AUTHORS = re.compile(r"^\s*•\s*(\d+)\s+authors?\s*$")
_DATE_LINE = re.compile(r"^([A-Z][a-z]{2,8} \d{1,2}(?:, \d{4})?)(?:\s+(\d+))?$")


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on reading one corpus file (RAG_INGEST_MAX_FILE_BYTES, RAG_INGEST_READ_TIMEOUT).

    ``root``: when set (HTTP ingest), every file, named or found by walking a folder, must resolve to a
    regular file inside it; anything else gets the same "not found or not allowed" line.
    """

    max_bytes: int = 50_000_000
    timeout: float = 30.0
    root: Path | None = None

    @classmethod
    def from_settings(cls, settings, confined: bool = False) -> ReadLimits:
        from rag.security import ingest_root

        return cls(settings.ingest_max_file_bytes, settings.ingest_read_timeout,
                   ingest_root(settings) if confined else None)


def decode_text(data: bytes, label: str) -> str:
    """Corpus bytes as UTF-8 text, rejecting empty and binary content with one line that quotes none of it."""
    if not data.strip():
        raise CorpusError(f"{label}: file is empty")
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{label}: looks like a binary file, expected UTF-8 text, JSONL or CSV")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{label}:{line}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None


def read_text(path: Path, limits: ReadLimits | None = None) -> str:
    """Read a corpus file as UTF-8, rejecting missing, non-regular (FIFO, device), oversized, empty and
    binary files with one clear line."""
    from rag.security import read_limited

    limits = limits or ReadLimits()
    if limits.root is None and not path.exists():
        raise CorpusError(f"{path}: no such file or directory")
    data = read_limited(path, limits.max_bytes, limits.timeout, str(path), hidden=limits.root is not None)
    return decode_text(data, str(path))


def _parse_date(text: str) -> date | None:
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%Y-%m", "%Y", "%d %b %Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _make_paper(title: str, abstract: str, source: str, **meta) -> Paper:
    title = clean_text(title)
    return Paper(title=title, abstract=clean_text(abstract), sources=[source], id=paper_id(title), **meta)


def parse_inline_listing(text: str, source: str) -> list[Paper]:
    """Layout 1: header lines, first title glued after ``Subscribe``, then title/abstract lines."""
    lines = [ln.strip() for ln in text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if _SUBSCRIBE_TITLE.match(ln))
    body = [_SUBSCRIBE_TITLE.match(lines[start]).group(1)] + [ln for ln in lines[start + 1 :] if ln]
    if len(body) % 2:
        raise CorpusError(f"{source}: title on the last line has no abstract (odd number of lines)")
    return [_make_paper(body[i], body[i + 1], source) for i in range(0, len(body), 2)]


def parse_block_listing(text: str, source: str) -> list[Paper]:
    """Layouts 2 and 3: blank-line separated title and abstract paragraphs, optional author/date trailer."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    i = 0
    while i < len(blocks) and (blocks[i].strip().lower() in _HEADER_LINES or _MONTH_DAY.match(blocks[i].strip())):
        i += 1
    papers: list[Paper] = []
    while i < len(blocks):
        title = blocks[i].strip()
        if i + 1 >= len(blocks) or _AUTHORS.match(blocks[i + 1].splitlines()[0]):
            raise CorpusError(f"{source}: paper {len(papers) + 1} (paragraph {i + 1}) has no abstract")
        abstract = blocks[i + 1]
        meta: dict = {}
        i += 2
        if i < len(blocks) and _AUTHORS.match(blocks[i].splitlines()[0]):
            meta = _parse_trailer(blocks[i].splitlines())
            i += 1
        papers.append(_make_paper(title, abstract, source, **meta))
    return papers


def _parse_trailer(lines: list[str]) -> dict:
    """``  • N authors`` / ``·`` / ``Aug 5, 2024 [upvotes]`` -> authors, date, upvotes."""
    meta: dict = {"authors": int(_AUTHORS.match(lines[0]).group(1))}
    for line in lines[1:]:
        match = _DATE_LINE.match(line.strip())
        if match:
            meta["date"] = _parse_date(match.group(1))
            if match.group(2):
                meta["upvotes"] = int(match.group(2))
    return meta


def _record_to_paper(rec: dict, source: str, where: str) -> Paper:
    title = str(rec.get("title") or "").strip()
    abstract = str(rec.get("abstract") or "").strip()
    if not title:
        raise CorpusError(f"{where}: record has no 'title'")
    if not abstract:
        raise CorpusError(f"{where}: record has no 'abstract'")
    authors = rec.get("authors")
    if isinstance(authors, list):
        authors = len(authors)
    elif isinstance(authors, str):
        authors = len([a for a in re.split(r"[;,]| and ", authors) if a.strip()]) or None
    when = rec.get("date")
    upvotes = rec.get("upvotes")
    return _make_paper(
        title,
        abstract,
        source,
        authors=int(authors) if authors not in (None, "") else None,
        date=_parse_date(str(when)) if when else None,
        upvotes=int(upvotes) if str(upvotes or "").strip().isdigit() else None,
        url=record_url(rec),
    )


_ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", re.IGNORECASE)


def record_url(rec: dict) -> str:
    """The paper's own URL: ``url`` if given, else the arXiv abstract page of an arXiv id (``arxiv_id``,
    ``arxiv`` or an ``id`` shaped like one), so citations can link to the paper itself."""
    url = str(rec.get("url") or "").strip()
    if url:
        return url
    for key in ("arxiv_id", "arxiv", "arxivId", "id"):
        match = _ARXIV_ID.match(str(rec.get(key) or "").strip())
        if match:
            return f"https://arxiv.org/abs/{match.group(1)}"
    return ""


def json_object(line: str, where: str, error: type[Exception], malformed: str, not_object: str) -> dict:
    """One JSON-lines record as a dict, else ``error`` saying ``where`` and what is wrong (``not_object`` may
    name the type found as ``{type}``); the corpus and evaluation-set readers share it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: {malformed} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise error(f"{where}: {not_object.format(type=type(data).__name__)}")
    return data


def parse_jsonl(text: str, source: str) -> list[Paper]:
    papers = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        rec = json_object(line, f"{source}:{n}", CorpusError, "malformed JSON", "expected a JSON object per line")
        papers.append(_record_to_paper(rec, source, f"{source}:{n}"))
    return papers


def parse_csv(text: str, source: str) -> list[Paper]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    for needed in ("title", "abstract"):
        if needed not in fields:
            raise CorpusError(f"{source}:1: CSV has no '{needed}' column (it needs 'title' and 'abstract' columns)")
    papers = []
    try:
        for row in reader:
            rec = {(k or "").strip().lower(): v for k, v in row.items()}
            papers.append(_record_to_paper(rec, source, f"{source}:{reader.line_num}"))
    except csv.Error as exc:
        raise CorpusError(f"{source}:{reader.line_num}: malformed CSV ({exc})") from None
    return papers


def detect_layout(text: str, suffix: str = "") -> str:
    """Name the layout from the content: ``jsonl``, ``csv``, ``inline`` or ``blocks``."""
    stripped = text.lstrip()
    if suffix == ".jsonl" or (suffix in ("", ".json", ".txt") and stripped.startswith("{")):
        return "jsonl"
    first = stripped.splitlines()[0].lower() if stripped else ""
    if suffix == ".csv" or ("," in first and "title" in [c.strip().strip('"') for c in first.split(",")]):
        return "csv"
    head = text.splitlines()[:10]
    if any(_SUBSCRIBE_TITLE.match(ln.strip()) for ln in head):
        return "inline"
    if re.search(r"\n\s*\n", text):
        return "blocks"
    raise CorpusError(
        "unrecognized layout: expected a Daily Papers listing, JSONL or CSV with title/abstract"
    )


def parse_text(text: str, source: str, suffix: str = "", label: str | None = None) -> list[Paper]:
    """Parse the text of one corpus file (read from disk or uploaded); ``source`` is its stored label."""
    label = label or source
    try:
        layout = detect_layout(text, suffix.lower())
    except CorpusError as exc:
        raise CorpusError(f"{label}: {exc}") from None
    parser = {"jsonl": parse_jsonl, "csv": parse_csv, "inline": parse_inline_listing, "blocks": parse_block_listing}
    papers = parser[layout](text, source)
    if not papers:
        raise CorpusError(f"{label}: no papers found")
    return papers


def parse_records(records: list[dict], source: str) -> list[Paper]:
    """Papers from JSON records (``title``, ``abstract``, optional ``authors``/``date``/``upvotes``/``url``)."""
    papers = []
    for n, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise CorpusError(f"{source}:{n}: expected a JSON object per record")
        papers.append(_record_to_paper(rec, source, f"{source}:{n}"))
    return papers


def parse_file(path: Path, name: str | None = None, limits: ReadLimits | None = None) -> list[Paper]:
    """Parse one corpus file into papers; ``name`` is the source label stored in metadata."""
    path = Path(path)
    return parse_text(read_text(path, limits), name or path.name, path.suffix, str(path))


def expand_paths(paths: Iterable[Path], root: Path | None = None) -> list[Path]:
    """Files under the given paths (directories are walked, hidden files skipped), sorted.

    With ``root`` (HTTP ingest) each path and each walked file is resolved (symlinks included) and must
    be a regular file inside ``root``; everything else gets one message that does not say whether it exists.
    """
    from rag.security import confine, hidden_path_error

    files: list[Path] = []
    for p in paths:
        p = confine(str(p), root) if root is not None else Path(p)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*")
                if not any(part.startswith(".") for part in f.relative_to(p).parts)
                and f.suffix.lower() in SUPPORTED_SUFFIXES and (root is not None or f.is_file())
            )
            if root is not None:  # resolve links; skip folders; refuse anything leaving the root
                confined = []
                for f in found:
                    real = confine(str(f), root)
                    if real.is_dir():
                        continue
                    if not real.is_file():
                        raise hidden_path_error(str(f))
                    confined.append(real)
                found = confined
            files += found
        elif root is not None:
            if not p.is_file():
                raise hidden_path_error(str(p))
            files.append(p)
        elif p.exists():
            files.append(p)
        else:
            raise CorpusError(f"{p}: no such file or directory")
    return files


def merge_papers(papers: Iterable[Paper]) -> list[Paper]:
    """Deduplicate by normalized title, keeping every source and the richest metadata."""
    merged: dict[str, Paper] = {}
    for p in papers:
        key = normalize_title(p.title)
        if key not in merged:
            merged[key] = Paper(**{**p.__dict__, "sources": list(p.sources)})
            continue
        kept = merged[key]
        kept.sources += [s for s in p.sources if s not in kept.sources]
        for attr in ("authors", "date", "upvotes", "url"):
            if not getattr(kept, attr) and getattr(p, attr):
                setattr(kept, attr, getattr(p, attr))
        if len(p.abstract) > len(kept.abstract):
            kept.abstract = p.abstract
    return list(merged.values())


def load_corpus(paths: Iterable[Path], limits: ReadLimits | None = None) -> tuple[list[Paper], int]:
    """Parse and merge every file; returns (unique papers, number of records read)."""
    records: list[Paper] = []
    for f in expand_paths(paths, limits.root if limits else None):
        records += parse_file(f, limits=limits)
    return merge_papers(records), len(records)
