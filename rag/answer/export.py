"""Answers and conversations as documents a user keeps: Markdown with references, and BibTeX.

Shared by ``rag ask --format`` and the UI's export buttons, so a reference looks the same wherever it
is copied from. The corpus gives titles, dates, author counts and sometimes a URL, never author names,
so BibTeX entries are ``@misc`` with a ``note`` instead of an invented ``author`` field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_BIB_SPECIAL = re.compile(r"([&%$#_{}])")
_STOP = {"a", "an", "the", "on", "of", "for", "and", "in", "to", "with", "via", "is", "are", "from", "towards", "toward"}


def _field(citation, key: str, default=None):
    return citation.get(key, default) if isinstance(citation, dict) else getattr(citation, key, default)


def as_dicts(citations: Iterable) -> list[dict]:
    """Citations (objects or their ``to_dict``) as dicts with the public keys."""
    return [c if isinstance(c, dict) else c.to_dict() for c in citations]


def reference_line(citation: dict) -> str:
    """``[n] Title (2025). URL`` — the plain-text reference that "copy citation" and exports use."""
    year = (citation.get("date") or "")[:4]
    line = f"[{citation['n']}] {citation['title']}"
    if year:
        line += f" ({year})"
    return f"{line}. {citation['url']}" if citation.get("url") else line


def answer_markdown(question: str, text: str, citations: Iterable, notice: str = "") -> str:
    """One answer: the question as a heading, the text with [n] markers, and its numbered references."""
    cited = as_dicts(citations)
    parts = [f"## {question.strip()}", ""]
    if notice:
        parts += [f"> {notice}", ""]
    parts.append(text.strip())
    if cited:
        parts += ["", "**References**", ""]
        for c in sorted(cited, key=lambda c: c["n"]):
            title = f"[{_md(c['title'])}]({c['url']})" if c.get("url") else _md(c["title"])
            year = f" ({c['date'][:4]})" if c.get("date") else ""
            parts.append(f"{c['n']}. {title}{year}")
    return "\n".join(parts) + "\n"


def conversation_markdown(turns: Iterable[dict], title: str = "paperchat conversation") -> str:
    """Every answered turn (``{"question", "answer", "citations", "notice"?}``) as one Markdown document."""
    body = [f"# {title}", ""]
    for turn in turns:
        body.append(answer_markdown(turn.get("question", ""), turn.get("answer", ""), turn.get("citations", []),
                                    turn.get("notice", "")))
    return "\n".join(body).rstrip() + "\n"


def _md(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def bibtex_key(citation: dict) -> str:
    """``<first content word of the title><year>``, ASCII only, e.g. ``tower2025``."""
    ascii_title = unicodedata.normalize("NFKD", citation["title"]).encode("ascii", "ignore").decode()
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", ascii_title)]
    word = next((w for w in words if w not in _STOP), words[0] if words else "paper")
    return f"{word}{(citation.get('date') or '')[:4]}"


def _bib(text: str) -> str:
    return _BIB_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def bibtex(citations: Iterable) -> str:
    """One ``@misc`` entry per distinct cited paper (by paper_id), keys made unique with a/b/c suffixes."""
    entries, seen, keys = [], set(), {}
    for c in as_dicts(citations):
        if c["paper_id"] in seen:
            continue
        seen.add(c["paper_id"])
        key = bibtex_key(c)
        count = keys.get(key, 0)
        keys[key] = count + 1
        if count:
            key += chr(ord("a") + count - 1)
        fields = [("title", "{" + _bib(c["title"]) + "}")]
        if c.get("date"):
            fields.append(("year", c["date"][:4]))
            fields.append(("date", c["date"]))
        if c.get("url"):
            fields.append(("url", c["url"]))
        note = f"{c['authors']} authors; " if c.get("authors") else ""
        fields.append(("note", f"{note}cited by paperchat, paper id {c['paper_id']}"))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")
