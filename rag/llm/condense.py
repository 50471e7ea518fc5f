"""LLM follow-up condensation for chats: "which languages does it cover?" -> a standalone question.

The prompt is llama-index's condense-question template. The call is short (few tokens, a timeout of
a few seconds, no retries) because ``rag.chat.condense`` falls back to a deterministic rule whenever
this returns "". A rewrite is accepted only if it keeps at least one content word of the previous
question: a condensation that lost the subject of the conversation would retrieve the wrong papers.
"""

from __future__ import annotations

import re

from rag.llm.base import complete

#: Seconds allowed for one condensation call (capped by RAG_LLM_TIMEOUT).
TIMEOUT = 8.0
MAX_TOKENS = 48
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-]*")
_QUESTION_START = re.compile(r"(?:what|which|who|whom|whose|when|where|why|how|is|are|does|do|did|can|could|"
                             r"should|was|were|has|have|list|name|describe|explain)\b", re.I)
_STOPWORDS = frozenset(re.findall(r"\w+", """a an and are as at be by can do does for from has have how in is it its
of on or that the their this to was were what when where which who why with about into than then they them these those
your you"""))


def template() -> str:
    from llama_index.core.chat_engine.condense_question import DEFAULT_TEMPLATE

    return str(DEFAULT_TEMPLATE)


def _content_words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text) if w.casefold() not in _STOPWORDS and len(w) > 2}


def clean(reply: str, question: str, history: list[tuple[str, str]]) -> str:
    """The first line of the reply, if it is a usable standalone question, else ""."""
    line = next((ln.strip() for ln in reply.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^<?\s*standalone question\s*[>:]?\s*", "", line, flags=re.I).strip(' "\'')
    previous = history[-1][0]
    if not line or len(line) > 300 or line.casefold() in (question.casefold(), previous.casefold()):
        return ""  # nothing rewritten: the rule (previous question + follow-up) carries more context
    if "[" in line or not (line.endswith("?") or _QUESTION_START.match(line)):
        return ""  # the model answered instead of rewriting
    if not _content_words(line) & _content_words(previous):
        return ""
    return line


def llm_condense(engine, question: str, history: list[tuple[str, str]], mode: str) -> str:
    """Standalone rewrite of ``question`` with the engine's backend for ``mode``; "" on any failure."""
    if not history:
        return question
    try:
        backend = engine.backends.get(mode)
        turns = history[-3:]
        chat_history = "\n".join(f"Human: {q}\nAssistant: {a[:300]}" for q, a in turns)
        content = template().format(chat_history=chat_history, question=question)
        reply = complete(backend, [{"role": "user", "content": content}], max_tokens=MAX_TOKENS, temperature=0.0,
                         stop=["\n\n", "<|im_end|>"], timeout=min(TIMEOUT, engine.settings.llm_timeout))
    except Exception:  # condensation is best effort: the rule-based fallback takes over
        return ""
    return clean(reply, question, history)
