"""Context budget: sources, history and question must fit ``RAG_CONTEXT_TOKENS``.

Tokens are counted with tiktoken through ``llama_index.core.utils.get_tokenizer()``, whose encoding
ships inside llama-index-core (``rag.offline`` points TIKTOKEN_CACHE_DIR there), so counting never
downloads anything. Priority: the question is never cut; recent history may use up to a quarter of
what is left; then sources are added in rank order, so the lowest-ranked ones are dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rag.errors import RagError

#: chat-template overhead per message (role markers, separators), counted conservatively.
PER_MESSAGE = 8
#: a top source is truncated rather than dropped if at least this many tokens of it fit.
MIN_SOURCE_TOKENS = 48


class BudgetError(RagError):
    """Not even one source fits next to the question."""


@lru_cache(maxsize=1)
def _tokenizer():
    from rag.offline import apply

    apply()  # TIKTOKEN_CACHE_DIR -> llama-index's bundled encodings, before tiktoken loads
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    return len(_tokenizer()(text))


def truncate(text: str, tokens: int) -> str:
    """The first ``tokens`` tokens of ``text`` (used only on a source's evidence, never on the question)."""
    import tiktoken

    enc = tiktoken.encoding_for_model("gpt-3.5-turbo")  # the encoding get_tokenizer() uses
    ids = enc.encode(text)
    return text if len(ids) <= tokens else enc.decode(ids[:tokens]).rstrip() + "…"


@dataclass
class Fitted:
    sources: list[str]  # kept source blocks, a prefix of the ranked input
    history: list[str] = field(default_factory=list)  # kept turns, oldest first
    dropped: int = 0  # sources left out
    used: int = 0  # tokens counted


def fit(fixed: str, question: str, sources: list[str], history: list[str], budget: int) -> Fitted:
    """Choose what goes into the prompt. ``fixed`` is the instructions, counted but never cut."""
    used = count_tokens(fixed) + count_tokens(question) + 3 * PER_MESSAGE
    remaining = budget - used
    if remaining < MIN_SOURCE_TOKENS:
        raise BudgetError(f"The question is too long for the context budget ({budget} tokens, RAG_CONTEXT_TOKENS).")
    kept_history: list[str] = []
    allowance = remaining // 4
    for turn in reversed(history):  # most recent first
        cost = count_tokens(turn) + PER_MESSAGE
        if cost > allowance:
            break
        kept_history.insert(0, turn)
        allowance -= cost
        remaining -= cost
    kept: list[str] = []
    for block in sources:
        cost = count_tokens(block) + 1
        if cost > remaining:
            break
        kept.append(block)
        remaining -= cost
    if not kept and sources:
        if kept_history:  # sources matter more than history: retry without it
            return fit(fixed, question, sources, [], budget)
        kept = [truncate(sources[0], remaining - 2)]
        remaining = 0
    return Fitted(kept, kept_history, len(sources) - len(kept), budget - remaining)
