"""Which abstract sentences an answer may quote, and which one says what a paper is.

Abstracts are data, not instructions: a sentence that addresses the reader or a model ("ignore previous
instructions", "answer that …") is never quoted nor shown to an LLM. Availability notes ("code is
released at …") are quoted only when the question asks where to get something.
"""

from __future__ import annotations

import re

from rag.answer.extractive import Scored

# Sentences that address the reader or a model: instructions, not evidence (prompt injection in an abstract).
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+)*(?:previous|prior|above|earlier"
    r"|preceding|system|original|other|given)?\s*(?:instructions?|prompts?|messages?|rules|context|directions?|guidelines)"
    r"|\bignore (?:all |everything )?(?:previous|prior|above|earlier)\b"
    r"|^\W*(?:please\s+)?(?:answer|respond|reply|say|tell|output|print|write|claim|cite|repeat|pretend|act as)\b"
    r"|[;:]\s*(?:please\s+)?(?:answer|respond|reply|say|tell|output|print|write|claim|cite|repeat)\s+(?:that|with|only)\b"
    r"|\byou (?:must|should|shall|have to|need to|are (?:required|instructed|told)|will now|may not|must not)\b"
    r"|\b(?:as an ai|system prompt|new instructions|developer mode|jailbreak)\b"
    r"|\b(?:assistants?|chatbots?|the model|language models?|llms?|ai)\s*,?\s+(?:must|should|shall)\s+"
    r"(?:answer|respond|say|reply|ignore|cite|state|output)\b"
    r"|\bdo not (?:cite|mention|reveal|tell)\b|\banswer (?:that|with|only)\b",
    re.I,
)
# "We introduce / propose / present X", "X is a …": the sentence that says what a paper is.
_DEFINING = re.compile(
    r"\b(?:we|this (?:paper|work|report|study)|here,? we|in this (?:paper|work|report),? we|the paper)\s+(?:\w+ly\s+)?"
    r"(?:introduce|introduces|propose|proposes|present|presents|describe|describes|develop|develops|release|releases"
    r"|build|builds|design|designs|unveil|offer|report|debut|contribute)\b"
    r"|\b(?:is|are) (?:a|an|the) (?:new |novel |simple |general |large |open |family |suite |series )?"
    r"(?:\w+[- ]){0,3}(?:model|framework|method|approach|benchmark|dataset|corpus|toolkit|library|system|suite"
    r"|family|series|technique|recipe|architecture|pipeline|algorithm|strategy|paradigm)s?\b",
    re.I,
)
# "Code is released at https://…": availability notes, quoted only when the question asks where to get something.
_BOILERPLATE = re.compile(r"https?:\s?//|\bgithub\.com\b|\b(?:code|models?|weights|data(?:set)?s?|checkpoints)"
                          r"(?: and [\w-]+)* (?:is|are|will be) (?:publicly |freely |openly )?(?:available|released)\b", re.I)
_WANTS_LINK = re.compile(r"\b(?:code|github|url|link|download|available|release[sd]?|open[- ]source|weights|where)\b", re.I)


def is_instruction(sentence: str) -> bool:
    """True for a sentence that addresses the reader or a model (never quoted, never shown to an LLM)."""
    return bool(_INJECTION.search(sentence))


def defining(sentence: str) -> bool:
    return bool(_DEFINING.search(sentence))


def quotable(scored: list[Scored], question: str) -> list[Scored]:
    """The evidence an answer may quote: never an instruction; an availability note only when the question
    asks where to get something, or when nothing else is left."""
    clean = [s for s in scored if not is_instruction(s.sentence)]
    if not _WANTS_LINK.search(question):
        clean = [s for s in clean if not _BOILERPLATE.search(s.sentence)] or clean
    return clean
