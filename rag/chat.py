"""Follow-up condensation: turn "which languages does it cover?" into a standalone search query.

With an LLM backend the model rewrites the question (llama-index's condense-question prompt); in
extractive mode, or when the LLM fails, a deterministic rule carries the previous standalone question
along whenever the follow-up leans on it (pronouns, or too short to stand alone).
"""

from __future__ import annotations

import re

_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|the paper|the model|the method|same|also|he|she)\b", re.I
)


def needs_context(question: str) -> bool:
    return bool(_ANAPHORA.search(question)) or len(question.split()) <= 4


def rule_condense(question: str, history: list[tuple[str, str]]) -> str:
    if not history or not needs_context(question):
        return question
    previous = history[-1][0]
    return f"{previous} {question}"


def condense(engine, question: str, history: list[tuple[str, str]], mode: str) -> str:
    """Standalone query for retrieval; the LLM rewrites when one is in use, else the rule applies."""
    if not history or not needs_context(question):
        return question
    if mode != "extractive":
        try:
            from rag.llm.condense import llm_condense

            rewritten = llm_condense(engine, question, history, mode)
            if rewritten:
                return rewritten
        except Exception:  # any LLM failure falls back to the deterministic rule
            pass
    return rule_condense(question, history)
