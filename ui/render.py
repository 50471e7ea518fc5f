"""Pure HTML/markdown rendering for the chat UI: answers, source cards, header, error messages.

Kept apart from the Gradio wiring so the exact text a user sees is unit-testable without a browser,
and so every string that comes from the corpus passes through one escaping path (titles and
abstracts are untrusted text: they must never become markup).
"""

from __future__ import annotations

import html
import re
from datetime import date

from rag.types import Answer, Hit

#: Words too common to be worth highlighting in evidence snippets.
_STOP_TEXT = (
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    of on or our paper papers so than that the their them then there these they this those to was were what
    when where which who whom why will with would you your about also any both each more most other over same
    such via use used using work works does doing cover covers much many"""
)
STOPWORDS = frozenset(_STOP_TEXT.split())

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")

SNIPPET_CHARS = 420

#: Inline SVG (no emoji font needed, no file to serve): a page with a speech bubble.
LOGO = (
    '<svg width="34" height="34" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6" '
    'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10'
    'a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/><path d="M9 13h6M9 17h4"/></svg>'
)


def md_escape(text: str) -> str:
    """Escape markdown syntax in corpus text (a title like ``*BERT*`` must not turn italic)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def query_terms(question: str) -> list[str]:
    """Distinct content words of the question, longest first (so ``Tower+`` wins over ``Tower``)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question or ""):
        word = word.strip("-").lower()
        if (len(word) >= 3 and word not in STOPWORDS) or (len(word) >= 2 and any(ch.isdigit() for ch in word)):
            seen.setdefault(word, None)
    return sorted(seen, key=len, reverse=True)


def _term_pattern(terms: list[str]) -> re.Pattern | None:
    """One regex matching any term, tolerant of plural/inflected forms (``language`` ~ ``languages``)."""
    parts = []
    for term in terms:
        stem = term[:-1] if term.endswith("s") and len(term) > 4 else term
        parts.append(re.escape(html.escape(stem)) + (r"[\w\-]*" if stem[-1].isalnum() else ""))
    if not parts:
        return None
    return re.compile(r"(?<![\w])(" + "|".join(parts) + r")", re.IGNORECASE)


def excerpt(text: str, terms: list[str], limit: int = SNIPPET_CHARS) -> str:
    """The part of ``text`` that best shows why it matched: the sentence with most query terms, plus neighbours."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    sentences = _SENTENCE.split(text)
    pattern = _term_pattern(terms)

    def hits(sentence: str) -> int:
        return len(pattern.findall(html.escape(sentence))) if pattern else 0

    best = max(range(len(sentences)), key=lambda i: (hits(sentences[i]), -i))
    lo = hi = best
    picked = sentences[best]
    while True:  # grow around the best sentence while it fits
        grown = False
        if hi + 1 < len(sentences) and len(picked) + len(sentences[hi + 1]) + 1 <= limit:
            hi += 1
            picked = f"{picked} {sentences[hi]}"
            grown = True
        if lo > 0 and len(picked) + len(sentences[lo - 1]) + 1 <= limit:
            lo -= 1
            picked = f"{sentences[lo]} {picked}"
            grown = True
        if not grown:
            break
    if len(picked) > limit:
        picked = picked[: limit - 1].rsplit(" ", 1)[0]
        hi = len(sentences)  # force the trailing ellipsis
    return ("… " if lo > 0 else "") + picked + (" …" if hi < len(sentences) - 1 else "")


def highlight(text: str, terms: list[str]) -> str:
    """HTML-escape ``text`` and wrap each query term in ``<mark>``."""
    escaped = html.escape(text)
    pattern = _term_pattern(terms)
    return pattern.sub(r"<mark>\1</mark>", escaped) if pattern else escaped


def pretty_date(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%-d %b %Y")
    except (TypeError, ValueError):
        return iso or ""


# --- chat messages --------------------------------------------------------------------------------

def answer_markdown(answer: Answer) -> str:
    """The final chat bubble: answer text with [n] markers, the cited titles, then a small footer.

    A notice (an LLM fallback, say) is metadata about how the answer was made, so it goes in the
    footer in small print, never above the answer where it would read as the answer's first line.
    """
    parts = [answer.text]
    if answer.citations:
        lines = [f"[{c.number}] *{md_escape(c.title)}*" for c in sorted(answer.citations, key=lambda c: c.number)]
        parts.append("**Sources**\n" + "\n".join(lines))
    footer = answer.model if answer.model and answer.mode in answer.model else " · ".join(
        part for part in (answer.mode, answer.model if answer.model != answer.mode else "") if part)
    if answer.timings_ms.get("total"):
        footer += f" · {answer.timings_ms['total'] / 1000:.1f} s"
    if answer.notice:
        footer += f" · note: {answer.notice}"
    parts.append(f"<sub>{html.escape(footer)}</sub>")
    return "\n\n".join(parts)


def error_markdown(message: str) -> str:
    """A RagError (or any failure) as one friendly line in the chat."""
    return f"**Sorry:** {md_escape(message.strip().splitlines()[0] if message.strip() else 'Something went wrong.')}"


# --- sources panel --------------------------------------------------------------------------------

def empty_sources(message: str = "Ask a question: the papers behind the answer appear here.") -> str:
    return f'<div class="pc-sources"><div class="pc-empty">{html.escape(message)}</div></div>'


def source_cards(answer: Answer) -> str:
    """One card per retrieved paper for the last answer, cited ones marked with their [n]."""
    if not answer.sources:
        return empty_sources("No papers matched these filters.")
    cited = {c.paper_id: c.number for c in answer.citations}
    terms = query_terms(answer.standalone_question or answer.question)
    top = max((h.score for h in answer.sources), default=0.0) or 1.0
    n_cited = sum(1 for h in answer.sources if h.paper_id in cited)
    head = (f'<div class="pc-sources-head"><b>{len(answer.sources)} papers retrieved</b>'
            f'<span>{n_cited} cited in the answer</span></div>')
    cards = [_card(i, hit, cited.get(hit.paper_id), terms, hit.score / top) for i, hit in enumerate(answer.sources, 1)]
    return f'<div class="pc-sources">{head}{"".join(cards)}</div>'


def _card(rank: int, hit: Hit, number: int | None, terms: list[str], relative: float) -> str:
    title = html.escape(hit.title)
    if hit.url:
        title = f'<a href="{html.escape(hit.url, quote=True)}" target="_blank" rel="noopener">{title} ↗</a>'
    meta = []
    if hit.date:
        meta.append(f'<span class="pc-date">{html.escape(pretty_date(hit.date))}</span>')
    if hit.authors:
        meta.append(f"{hit.authors} author{'s' if hit.authors != 1 else ''}")
    meta.append(f'<span class="pc-score" title="fused dense + BM25 rank score">score {hit.score:.4f}</span>')
    if hit.sources:
        meta.append(f'<span class="pc-file">{html.escape(", ".join(hit.sources))}</span>')
    badge = (f'<span class="pc-badge pc-cited">cited [{number}]</span>' if number
             else '<span class="pc-badge pc-uncited">not cited</span>')
    snippet = highlight(excerpt(hit.snippet, terms), terms)
    width = max(4, min(100, round(relative * 100)))
    classes = "pc-card pc-card-cited" if number else "pc-card"
    return (
        f'<div class="{classes}" data-paper-id="{html.escape(hit.paper_id, quote=True)}" data-date="{html.escape(hit.date)}">'
        f'<div class="pc-card-head"><span class="pc-rank">{rank}</span><span class="pc-title">{title}</span>{badge}</div>'
        f'<div class="pc-meta">{" · ".join(meta)}</div>'
        f'<div class="pc-bar"><span style="width:{width}%"></span></div>'
        f'<p class="pc-snippet">{snippet}</p></div>'
    )


# --- header -----------------------------------------------------------------------------------------

def header(stats: dict | None, mode: str, problem: str = "") -> str:
    """Title bar with the index facts a user needs to trust the answers."""
    if stats is None:
        facts = f'<span class="pc-fact pc-warn">{html.escape(problem or "index unavailable")}</span>'
    else:
        items = [
            f"<b>{stats.get('papers', 0):,}</b> papers",
            f"<b>{stats.get('chunks', 0):,}</b> chunks",
            f"<b>{len(stats.get('sources', []))}</b> corpus files",
            f"embeddings <b>{html.escape(str(stats.get('embed_model', '')))}</b>",
            f'LLM <b id="pc-llm">{html.escape(mode)}</b>',
        ]
        facts = "".join(f'<span class="pc-fact">{item}</span>' for item in items)
        if not stats.get("papers"):
            facts += '<span class="pc-fact pc-warn">the index is empty: run <code>rag ingest</code></span>'
    return (
        '<div class="pc-header"><div class="pc-brand"><span class="pc-logo">' + LOGO + '</span>'
        '<div><h1>paperchat</h1><p>Answers from research-paper abstracts, every claim cited by title.</p></div></div>'
        f'<div class="pc-facts">{facts}</div></div>'
    )
