"""Stable ids for ingest: a paper's id from its normalised title, and content hashes for change detection.

The title normalisation itself (LaTeX remnants, case, accents, punctuation) is :func:`rag.text.normalize_title`,
so the same paper in two listings gets one id.
"""

from __future__ import annotations

import hashlib

from rag.text import normalize_title


def paper_id(title: str) -> str:
    """Stable id from the normalized title, so the same paper in two listings is one paper."""
    return hashlib.sha1(normalize_title(title).encode()).hexdigest()[:16]


def content_hash(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
