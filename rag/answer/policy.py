"""The measured knobs of the LLM answer pipeline (rag.answer.generate), as one frozen settings object.

They live in :class:`rag.config.Settings` (``answer_policy``, env ``RAG_ANSWER_POLICY`` as JSON) rather
than as module constants, so a measurement (tools/llm_latency.py) passes the variant it wants to
compare instead of patching modules, and two engines with different policies coexist in one process.
The defaults are the measured ones; each field says what it was measured on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AnswerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- the support check (rag.answer.verify, rag.answer.support) -------------------------------
    check: Literal["replace", "drop", "raw"] = Field("replace", description=(
        "A sentence without support is replaced by the best quote of the source it cited (replace) or "
        "dropped (drop); raw skips the check (only for measuring what the check buys)."))
    support: float = Field(0.6, ge=0, le=1, description=(
        "Minimum cosine (all-MiniLM-L6-v2) between an answer sentence and one evidence sentence of the source "
        "it cites; chosen with tools/llm_latency.py --policies on the dev questions."))
    duplicate: float = Field(0.9, ge=0, le=1, description=(
        "Two answer sentences this similar say the same thing; the second is dropped (small models repeat)."))
    key_terms: float = Field(0.75, ge=0, le=1, description=(
        "Share of a sentence's key terms (content words of 4+ letters, by stem) that must occur in the cited "
        "abstract, its title or the question. Names and numbers must all occur. Not 1.0: a capable model "
        "paraphrases connectives and verbs (\"improves\" for \"boosts\"), and those are not claims."))
    replace_margin: float = Field(0.08, ge=0, description=(
        "A quote (or a cited source) must be about this close to the best evidence overall (as in compose())."))
    max_rejected_run: int = Field(2, ge=1, description=(
        "This many rejected sentences in a row end the generation: the model has drifted, and waiting for "
        "more tokens only costs time before the fallback."))
    max_rejected_first: int = Field(1, ge=1, description=(
        "Before any sentence was kept, this many rejections end the generation: nothing is on screen yet, and "
        "on the dev set a small model whose first sentence fails rarely recovers well (tools/llm_latency.py "
        "--limit 30 --policies, same replies replayed: waiting for a second sentence gave citation precision "
        "0.688 and keyword recall 0.38, stopping at once 0.771 and 0.48, and the first text ~0.6 s sooner). "
        "Fragments and echoed titles or questions are skipped without counting as rejections."))
    max_sentence_chars: int = Field(320, ge=20, description=(
        "A sentence still open after this many characters is checked as it is: small models sometimes write "
        "one run-on sentence until max_tokens (2.9 s on the dev set) while the user sees nothing. The longest "
        "sentence kept on the dev set was 224 characters."))

    # --- capable models: they write from the composed evidence -----------------------------------
    sentences: int = Field(5, ge=1, description="Sentences per answer (a list or comparison: one per paper, plus one).")
    context_per_source: int = Field(2, ge=0, description=(
        "Sentences of context per paper beside the composed quotes, so a capable model can rephrase with care."))

    # --- small models (under ~1B parameters: the bundled SmolLM2, or a small model on a server) -----
    small_sentences: int = Field(3, ge=1, description="Sentences per answer: small models drift after two or three.")
    small_evidence: int = Field(1, ge=0, description=(
        "Best evidence sentences per source in the prompt (0: the whole abstract). One, not two: prefill runs "
        "at only ~280 tok/s on 2 vCPUs, and the shorter prompt moved the first-token p50 from 2.8 s to 1.7 s "
        "(--evidence 1/2); on --limit 30 --policies citation precision went 0.771 -> 0.812, keyword recall "
        "0.48 -> 0.42."))
    small_sources: int | None = Field(3, ge=1, description=(
        "Only the top-ranked sources are shown: prompt time dominates the first-token latency, and "
        "lower-ranked abstracts mostly give a small model material to mix up. None = all retrieved sources."))
    small_quote_lead: bool = Field(True, description=(
        "Open the answer with the best evidence sentence, quoted and cited, streamed before the model has read "
        "its prompt; the model's verified sentences follow. On 2 cores the model's first verified sentence "
        "arrives ~2.1 s after the question, past the 1.5 s first-token target, and a 135M model's own first "
        "sentence fails verification on most dev questions anyway. The quote is verified by construction and "
        "stays in the final answer, so what streams is still exactly answer.text."))
    small_max_tokens: int = Field(128, ge=16, description="Cap on generated tokens, whatever RAG_LLM_MAX_TOKENS says.")
