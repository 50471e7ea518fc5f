"""What a question may be before it reaches retrieval: printable, valid UTF-8, not empty, not too long.

Every surface (CLI, UI, HTTP API, chats) sends its questions through :func:`clean_question`, so they
reject the same inputs with the same one-line :class:`rag.errors.BadQuestion`.
"""

from __future__ import annotations

import re

from rag.errors import BadQuestion

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` without control characters and unpaired surrogates (e.g. for a file name used as a label)."""
    return _SURROGATE.sub("", _CONTROL.sub("", text))


def clean_question(question: str, max_chars: int) -> str:
    """The question with control characters blanked and ends stripped; BadQuestion if it cannot be used."""
    text = _CONTROL.sub(" ", question or "").strip()
    if _SURROGATE.search(text):
        raise BadQuestion("The question contains invalid characters (an unpaired UTF-16 surrogate such as "
                          "\\ud800): send it as valid UTF-8 text.")
    if not text:
        raise BadQuestion("The question is empty: type a question about the indexed papers.")
    if len(text) > max_chars:
        raise BadQuestion(
            f"The question is too long ({len(text):,} characters; the limit is "
            f"{max_chars:,}, RAG_MAX_QUESTION_CHARS)."
        )
    return text


def fit_query(text: str, limit: int) -> str:
    """``text`` cut to its last ``limit`` characters at a word boundary.

    Why: a chain of short follow-ups makes the condensed question grow with every turn (each carries the
    previous one along); what retrieval needs is the latest question plus recent context, so the length
    limit applies to what is sent, and the oldest context is what gives way.
    """
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    cut = tail.find(" ")
    return tail[cut + 1:] if 0 <= cut < limit // 2 else tail
