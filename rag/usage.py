"""Token counts for the HTTP API's OpenAI-style ``usage`` field.

Counted with tiktoken through llama-index's tokenizer (cl100k_base), whose BPE file ships inside
llama-index-core (rag.offline points TIKTOKEN_CACHE_DIR at it), so counting never downloads anything.
``prompt_tokens`` counts the text the client sent (its messages or question), ``completion_tokens``
the text returned; the sources paperchat adds to an LLM prompt are not the client's to pay for.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=1)
def _tokenizer():
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    return len(_tokenizer()(text)) if text else 0


def usage(prompt: Iterable[str], completion: str) -> dict[str, int]:
    """OpenAI's usage object for a request whose texts are ``prompt`` and whose reply is ``completion``."""
    prompt_tokens = sum(count_tokens(text) for text in prompt)
    completion_tokens = count_tokens(completion)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}
