"""Pure HTML/markdown rendering for the chat UI: answers, source cards, header, error messages.

Kept apart from the Gradio wiring so the exact text a user sees is unit-testable without a browser,
and so every string that comes from the corpus passes through one escaping path (titles and
abstracts are untrusted text: they must never become markup).
"""

from __future__ import annotations

import html
import re
from datetime import date

from rag.answer.citations import paper_url
from rag.security import redact, safe_href
from rag.text import sentences, strip_markers
from rag.types import Answer

#: Words too common to be worth highlighting in evidence snippets.
_STOP_TEXT = (
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    of on or our paper papers so than that the their them then there these they this those to was were what
    when where which who whom why will with would you your about also any both each more most other over same
    such via use used using work works does doing cover covers much many"""
)
STOPWORDS = frozenset(_STOP_TEXT.split())

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-]*")
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


_MD_TEXT = re.compile(r"([\\`*_{}<>#|~!])")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}):")
_WWW = re.compile(r"(?i)\bwww\.")


def md_text(text: str) -> str:
    """Corpus (or model) text that markdown shows verbatim: no links, images, HTML or emphasis.

    Abstracts are untrusted: ``[click](javascript:...)``, ``<img onerror>``, a bare ``https://...`` or an
    e-mail address must stay text. Brackets become HTML entities (link syntax needs literal brackets,
    and ``\\[`` would open a LaTeX block), a scheme's colon and ``www.`` are escaped so GFM autolinks do
    not fire, and ``@`` is escaped against e-mail autolinks. ``[n]`` markers still read as ``[n]``.
    """
    out = _MD_TEXT.sub(r"\\\1", text or "")
    out = out.replace("[", "&#91;").replace("]", "&#93;")
    out = _SCHEME.sub(lambda m: m.group(1) + "\\:", out)
    out = _WWW.sub(lambda m: m.group(0)[:-1] + "\\.", out)
    return out.replace("@", "\\@")


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
    pieces = sentences(text)
    pattern = _term_pattern(terms)

    def hits(sentence: str) -> int:
        return len(pattern.findall(html.escape(sentence))) if pattern else 0

    best = max(range(len(pieces)), key=lambda i: (hits(pieces[i]), -i))
    lo = hi = best
    picked = pieces[best]
    while True:  # grow around the best sentence while it fits
        grown = False
        if hi + 1 < len(pieces) and len(picked) + len(pieces[hi + 1]) + 1 <= limit:
            hi += 1
            picked = f"{picked} {pieces[hi]}"
            grown = True
        if lo > 0 and len(picked) + len(pieces[lo - 1]) + 1 <= limit:
            lo -= 1
            picked = f"{pieces[lo]} {picked}"
            grown = True
        if not grown:
            break
    if len(picked) > limit:
        picked = picked[: limit - 1].rsplit(" ", 1)[0]
        hi = len(pieces)  # force the trailing ellipsis
    return ("… " if lo > 0 else "") + picked + (" …" if hi < len(pieces) - 1 else "")


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


# --- turns: one answered question, as kept in the browser (gr.BrowserState) ------------------------------

def turn_from(answer: Answer, filter_note: str = "", file_labels: dict[str, str] | None = None) -> dict:
    """The JSON-safe record of one answer that the chat, the cards, exports and feedback are rendered from.

    It lives in the browser's storage so history survives a reload; everything in it is re-escaped
    when rendered, because stored text is as untrusted as the corpus.
    """
    cited = {c.paper_id: c.number for c in answer.citations}
    return {
        "question": answer.question,
        "standalone": answer.standalone_question or answer.question,
        "searched": searched_for(answer),
        "answer": answer.text,
        "citations": [c.to_dict() for c in answer.citations],
        "notice": answer.notice,
        "filter": filter_note if answer.refused or not answer.sources else "",
        "filtered": filter_note,
        "refused": answer.refused,
        "footer": footer(answer),
        "sources": [{"paper_id": h.paper_id, "title": h.title, "url": paper_url(h), "own_url": bool(safe_href(h.url)),
                     "date": h.date, "authors": h.authors, "score": round(h.score, 6), "snippet": h.snippet,
                     "abstract": h.abstract or h.snippet, "n": cited.get(h.paper_id),
                     "files": [(file_labels or {}).get(name, name) for name in h.sources]}
                    for h in answer.sources],
    }


def footer(answer: Answer) -> str:
    text = answer.model if answer.model and answer.mode in answer.model else " · ".join(
        part for part in (answer.mode, answer.model if answer.model != answer.mode else "") if part)
    if answer.timings_ms.get("total"):
        text += f" · {answer.timings_ms['total'] / 1000:.1f} s"
    return text


def message_text(turn: dict) -> str:
    """The answer bubble as plain text (what the copy button copies): notes, the answer, its sources.

    No markup beyond a list: "Note:" and "Filter:" paragraphs are styled in the browser (ui/assets/chat.js),
    and the [n] markers become buttons there, so copying gives clean text.
    """
    parts = []
    if turn.get("filter"):
        parts.append(f"Filter: {turn['filter']}")
    if turn.get("notice"):
        parts.append(f"Note: {md_text(redact(str(turn['notice'])))}")
    parts.append(md_text(str(turn.get("answer", ""))))
    if turn.get("searched"):
        parts.append(f"searched for: {md_text(str(turn['searched']))}")
    cited = sorted(turn.get("citations") or [], key=lambda c: c.get("n", 0))
    if cited:
        parts.append("Sources:\n\n" + "\n".join(f"- [{c['n']}] {md_escape(str(c['title']))}" for c in cited))
    return "\n\n".join(parts)


def searched_for(answer: Answer) -> str:
    """The standalone question a follow-up was searched as, when it differs from what the user typed."""
    standalone = " ".join((answer.standalone_question or "").split())
    return standalone if standalone and standalone.casefold() != " ".join(answer.question.split()).casefold() else ""


def chat_messages(turns: list[dict]) -> list[dict]:
    """Chatbot messages (user, assistant) for every stored turn."""
    messages = []
    for turn in turns or []:
        messages.append({"role": "user", "content": str(turn.get("question", ""))})
        messages.append({"role": "assistant", "content": message_text(turn)})
    return messages




def live_text(turn: dict) -> str:
    """What a screen reader announces when an answer is complete: plain sentences, no markup or markers."""
    parts = [f"Filter: {turn['filter']}" if turn.get("filter") else "", f"Note: {turn['notice']}" if turn.get("notice") else "",
             "Answer: " + strip_markers(str(turn.get("answer", ""))).strip()]
    cited = turn.get("citations") or []
    if cited:
        parts.append(f"Cites {len(cited)} paper{'s' if len(cited) != 1 else ''}: "
                     + "; ".join(f"{c['n']}, {c['title']}" for c in cited) + ".")
    return " ".join(p for p in parts if p)


def reference_text(source: dict) -> str:
    """The "copy citation" text of one card: ``Title (2025). URL``."""
    year = f" ({source['date'][:4]})" if source.get("date") else ""
    return f"{source['title']}{year}. {source['url']}"


def sources_panel(turns: list[dict]) -> str:
    """Cards of every turn, one group each; the last is shown, the others when one of their [n] is clicked."""
    if not turns:
        return empty_sources()
    groups = [_turn_group(i, turn, current=i == len(turns) - 1) for i, turn in enumerate(turns)]
    return f'<div class="pc-sources">{"".join(groups)}</div>'


def _turn_group(index: int, turn: dict, current: bool) -> str:
    sources = turn.get("sources") or []
    cls = "pc-turn pc-current" if current else "pc-turn"
    question = html.escape(str(turn.get("question", "")))
    head = (f'<div class="pc-sources-head"><b>{len(sources)} papers retrieved</b>'
            f'<span>{sum(1 for s in sources if s.get("n"))} cited · {html.escape(str(turn.get("footer", "")))}</span></div>'
            f'<div class="pc-turn-q">for “{question}”</div>')
    if turn.get("filter"):
        head += f'<div class="pc-filter-warn" role="note"><b>Filter active.</b> {html.escape(turn["filter"])}</div>'
    elif turn.get("filtered"):
        head += f'<div class="pc-filter-chip">Filtered: {html.escape(turn["filtered"])}</div>'
    if not sources:
        body = '<div class="pc-empty">No papers matched these filters.</div>'
    else:
        terms = query_terms(str(turn.get("standalone") or turn.get("question") or ""))
        top = max((float(s.get("score") or 0) for s in sources), default=0.0) or 1.0
        body = "".join(_card(index, rank, s, terms, float(s.get("score") or 0) / top) for rank, s in enumerate(sources, 1))
    return (f'<section class="{cls}" id="pc-turn-{index}" data-turn="{index}" aria-label="Sources of answer {index + 1}">'
            f'{head}{body}</section>')


def _card(turn: int, rank: int, source: dict, terms: list[str], relative: float) -> str:
    number = source.get("n")
    url = html.escape(safe_href(str(source.get("url", ""))) or "", quote=True)  # only http(s) links from corpus data
    title_text = html.escape(str(source.get("title", "")))
    link_hint = "open the paper" if source.get("own_url") else "search arXiv for this title"
    title = (f'<a href="{url}" target="_blank" rel="noopener noreferrer" title="{link_hint}">{title_text}'
             '<span aria-hidden="true"> ↗</span><span class="pc-sr"> (opens in a new tab)</span></a>')
    meta = []
    if source.get("date"):
        meta.append(f'<span class="pc-date">{html.escape(pretty_date(str(source["date"])))}</span>')
    if source.get("authors"):
        n = int(source["authors"])
        meta.append(f"{n} author{'s' if n != 1 else ''}")
    score = float(source.get("score") or 0)
    meta.append(f'<span class="pc-score" title="fused dense + BM25 rank score">score {score:.4f}</span>')
    if source.get("files"):
        meta.append(f'<span class="pc-file">from {html.escape("; ".join(map(str, source["files"])))}</span>')
    badge = (f'<span class="pc-badge pc-cited">cited [{int(number)}]</span>' if number
             else '<span class="pc-badge pc-uncited">not cited</span>')
    snippet = highlight(excerpt(str(source.get("snippet", "")), terms), terms)
    abstract = highlight(" ".join(str(source.get("abstract", "")).split()), terms)
    width = max(4, min(100, round(relative * 100)))
    classes = "pc-card pc-card-cited" if number else "pc-card"
    cite = html.escape(reference_text(source), quote=True)
    return (
        f'<article class="{classes}" id="pc-card-{turn}-{rank}" tabindex="-1" data-n="{int(number or 0)}" '
        f'data-paper-id="{html.escape(str(source.get("paper_id", "")), quote=True)}" '
        f'data-date="{html.escape(str(source.get("date", "")), quote=True)}">'
        f'<div class="pc-card-head"><span class="pc-rank" aria-label="rank {rank}">{rank}</span>'
        f'<span class="pc-title">{title}</span>{badge}</div>'
        f'<div class="pc-meta">{" · ".join(meta)}</div>'
        f'<div class="pc-bar" aria-hidden="true"><span style="width:{width}%"></span></div>'
        f'<p class="pc-snippet">{snippet}</p>'
        f'<details class="pc-more"><summary>Full abstract</summary><p class="pc-abstract">{abstract}</p></details>'
        f'<div class="pc-actions"><button type="button" class="pc-copy" data-cite="{cite}">Copy citation</button></div>'
        '</article>'
    )


# --- chat messages --------------------------------------------------------------------------------

def error_markdown(message: str) -> str:
    """A RagError (or any failure) as one friendly line in the chat."""
    return f"Sorry: {md_text(redact(message.strip().splitlines()[0] if message.strip() else 'Something went wrong.'))}"


# --- sources panel --------------------------------------------------------------------------------

def empty_sources(message: str = "Ask a question: the papers behind the answer appear here.") -> str:
    return f'<div class="pc-sources"><div class="pc-empty">{html.escape(message)}</div></div>'


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
