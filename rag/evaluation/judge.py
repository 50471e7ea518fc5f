"""Optional LLM-as-judge faithfulness: is each cited answer sentence supported by its cited abstract?

Only runs when ``RAG_JUDGE_BASE_URL`` names an OpenAI-compatible endpoint (a local llama.cpp or
vLLM server works); the harness stays fully offline otherwise and the report says it was skipped.
The judge sees one (abstract, sentence) pair at a time and answers yes/no, which small models can
do far more reliably than grading a whole answer.
"""

from __future__ import annotations

import re

from rag.config import Settings
from rag.text import sentences
from rag.types import Answer

_MARKER = re.compile(r"\[(\d+)\]")

PROMPT = (
    "You check whether a sentence is supported by a research-paper abstract.\n\n"
    "Abstract:\n{abstract}\n\nSentence:\n{sentence}\n\n"
    "Is every claim in the sentence stated or directly implied by the abstract? Answer only yes or no."
)


class Judge:
    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self.model = settings.judge_model or "judge"
        self.client = OpenAI(base_url=settings.judge_base_url, api_key=settings.judge_api_key or "none",
                             timeout=settings.llm_timeout, max_retries=settings.llm_retries)
        self.calls = 0
        self.error = ""  # first failure; the judge stops and the report says why

    def supported(self, abstract: str, sentence: str) -> bool:
        self.calls += 1
        reply = self.client.chat.completions.create(
            model=self.model, temperature=0, max_tokens=3,
            messages=[{"role": "user", "content": PROMPT.format(abstract=abstract, sentence=sentence)}],
        )
        return (reply.choices[0].message.content or "").strip().lower().startswith("yes")

    def faithfulness(self, answer: Answer) -> float | None:
        """Share of (sentence, cited source) pairs the judge calls supported; ``None`` if nothing is cited.

        A judge failure (endpoint down, bad model name) is remembered and ends judging for the run:
        the retrieval and citation metrics are still worth having.
        """
        if self.error:
            return None
        from openai import OpenAIError

        verdicts = []
        for sentence in sentences(answer.text, after_marker=True):
            numbers = {int(n) for n in _MARKER.findall(sentence)}
            claim = _MARKER.sub("", sentence).strip()
            for n in sorted(numbers):
                if claim and 1 <= n <= len(answer.sources):
                    hit = answer.sources[n - 1]
                    try:
                        verdicts.append(self.supported(f"{hit.title}. {hit.abstract or hit.snippet}", claim))
                    except OpenAIError as exc:
                        self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                        return None
        return sum(verdicts) / len(verdicts) if verdicts else None


def make_judge(settings: Settings) -> Judge | None:
    return Judge(settings) if settings.judge_base_url else None
