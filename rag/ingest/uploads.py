"""What an untrusted caller (``POST /v1/ingest``) may ingest: uploads, records, and confined server paths.

Uploaded files are labelled by their base name only (no folders, printable); server paths must lie
inside RAG_INGEST_ROOT (regular files, size cap, read timeout: :class:`rag.ingest.parse.ReadLimits`).
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.config import Settings
from rag.errors import CorpusError
from rag.ingest.parse import ReadLimits, decode_text, expand_paths, merge_papers, parse_file, parse_records, parse_text
from rag.question import printable
from rag.types import Paper


def upload_name(name: str) -> str:
    """An uploaded file's source label: its base name only (no folders), printable, not empty."""
    base = printable(re.split(r"[\\/]", name or "")[-1]).strip().lstrip(".")
    return base[:120] or "upload.jsonl"


def client_papers(settings: Settings, paths: list[str] | None = None, files: list[tuple[str, bytes]] | None = None,
                  records: list[dict] | None = None, source: str = "upload.jsonl") -> tuple[list[Paper], set[str]]:
    """The papers a request sends, merged, and the source labels it names (the only ones it may prune)."""
    limits = ReadLimits.from_settings(settings, confined=True)
    papers, scope = [], set()
    for path in expand_paths(paths or [], limits.root):
        papers += parse_file(path, limits=limits)
        scope.add(path.name)
    for name, data in files or []:
        label = upload_name(name)
        if len(data) > limits.max_bytes:
            raise CorpusError(f"{label}: file is larger than the ingest limit of {limits.max_bytes:,} bytes "
                              "(RAG_INGEST_MAX_FILE_BYTES)")
        papers += parse_text(decode_text(data, label), label, Path(label).suffix)
        scope.add(label)
    if records:
        label = upload_name(source)
        papers += parse_records(records, label)
        scope.add(label)
    if not papers:
        raise CorpusError("Nothing to ingest: send records, files, or paths inside RAG_INGEST_ROOT.")
    return merge_papers(papers), scope
