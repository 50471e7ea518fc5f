"""The refusal gate: decide from retrieval evidence alone whether the abstracts can answer at all.

It runs before any LLM call, so a question the corpus does not cover costs no generation and cannot
be answered by invention. The evidence score is the best cosine similarity between the question and
any single abstract sentence of the retrieved papers (sentence level is sharper than chunk level:
near-miss questions share a topic with a chunk but no sentence states what they ask).
The threshold (``RAG_REFUSAL_THRESHOLD``) is calibrated on eval/datasets/dev.jsonl by
``python eval/calibrate_refusal.py``; see DEFAULT_THRESHOLD below.
"""

from __future__ import annotations

from rag.types import Hit

#: Chosen by eval/calibrate_refusal.py on the dev set (see the README's evaluation section).
DEFAULT_THRESHOLD = 0.0


def evidence_score(hits: list[Hit], scored: list) -> float:
    """Best sentence similarity; falls back to the best chunk similarity when nothing was scored."""
    if scored:
        return max(s.score for s in scored)
    return max((h.dense for h in hits), default=0.0)
