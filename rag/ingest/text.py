"""Text normalisation shared by ingest, retrieval and evaluation.

Written by hand because the rules are specific to scraped arXiv listings: LaTeX remnants such as
``T\\"ULU`` or ``71\\%`` must read as ``TÜLU`` / ``71%`` for display, and titles must compare equal
across listings regardless of case, punctuation or such escapes (the dedupe key and the eval matcher).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303"}
_LATEX_ACCENT = re.compile(r"""\\(["'`^~])\{?([A-Za-z])\}?""")
_LATEX_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|emph|url|mathrm|mathbf)\{([^{}]*)\}")
_LATEX_SYMBOLS = {r"\times": "×", r"\approx": "≈", r"\sim": "~", r"\pm": "±", r"\leq": "≤", r"\geq": "≥"}
_LATEX_ESCAPED = re.compile(r"\\([%&_#$])")
_LATEX_MATH_DELIMS = re.compile(r"\\[()\[\]]")
_BRACED_LETTERS = re.compile(r"\{([A-Za-z]{1,3})\}")  # {D}en{o}ising: BibTeX case protection
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def clean_latex(text: str) -> str:
    """Turn the LaTeX remnants found in scraped abstracts into plain Unicode text."""
    text = _BRACED_LETTERS.sub(r"\1", text)
    if "\\" not in text:
        return text
    text = _LATEX_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)]), text)
    text = _LATEX_WRAPPERS.sub(r"\1", text)
    for macro, symbol in _LATEX_SYMBOLS.items():
        text = re.sub(re.escape(macro) + r"(?![A-Za-z])", symbol, text)
    text = _LATEX_ESCAPED.sub(r"\1", text)
    return _LATEX_MATH_DELIMS.sub("", text)


def clean_text(text: str) -> str:
    """Collapse whitespace and strip LaTeX remnants (what we display and embed)."""
    return _SPACES.sub(" ", clean_latex(text)).strip()


def normalize_title(title: str) -> str:
    """Comparison key for titles: case, accents, punctuation, whitespace and LaTeX folded away."""
    text = unicodedata.normalize("NFKD", clean_latex(title).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def paper_id(title: str) -> str:
    """Stable id from the normalized title, so the same paper in two listings is one paper."""
    return hashlib.sha1(normalize_title(title).encode()).hexdigest()[:16]


def content_hash(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
