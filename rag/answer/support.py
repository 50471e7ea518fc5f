"""Sentence-level support check: is an answer sentence backed by the source it cites?

Each answer sentence is embedded with the engine's MiniLM model and compared with the evidence the
model was shown for every source (title + evidence sentences). Support for source n is the best
cosine similarity to one of n's sentences. A sentence keeps a citation only where that support
reaches the policy's ``support`` threshold (rag.answer.policy); a sentence with no supported citation
is re-cited to the source that supports it best, if one does, else it is replaced or dropped by the caller.
"""

from __future__ import annotations

import re
from functools import cached_property

from rag.answer.policy import AnswerPolicy
from rag.text import fold, is_name, stem, stopwords

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-_.%/]*")


def ungrounded_terms(sentence: str, text: str) -> list[str]:
    """Numbers and names in ``sentence`` that ``text`` never mentions.

    Embedding similarity rewards topical overlap, so "LACONIC was trained on the 8B LAMAD model" scores
    high against the LACONIC abstract although LAMAD is invented. Small models invent exactly such
    tokens: any word with a digit or a capital letter after the sentence's first word must appear in
    the cited evidence (or the question).
    """
    haystack = text.casefold()
    missing = []
    for i, match in enumerate(_TOKEN.finditer(sentence)):
        token = match.group().rstrip(".-/")
        if not token:
            continue
        if is_name(token, first=i == 0, min_length=1) and token.casefold() not in haystack:
            missing.append(token)
    return missing


#: Words that carry no claim of their own (how answers talk about papers), never key terms.
_GENERIC_WORDS = """paper papers work works study studies authors author abstract source sources propose proposes
proposed proposing introduce introduces introduced present presents presented show shows shown showing demonstrate
demonstrates demonstrated approach approaches method methods model models result results also both each which their
these those this that with from into than then they them other such more most while whereas however addition
additionally compared compare comparison focus focuses focused uses using used based provide provides provided
describe describes described discuss discusses report reports reported achieve achieves achieved include includes
including aims aim called named known instead rather between within without across among about various several
specific specifically respectively overall significant significantly"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
_CONTENT = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")


def missing_key_terms(sentence: str, text: str) -> tuple[list[str], int]:
    """The key terms of ``sentence`` that ``text`` never uses (by stem), and how many key terms it has."""
    from rag.answerable import token_set

    have = token_set(fold(text))
    stems = {stem(t) for t in have}
    terms = {w.casefold().strip("-") for w in _CONTENT.findall(sentence)}
    terms = {t for t in terms if t and t not in _GENERIC and t not in stopwords()}
    missing = [t for t in sorted(terms) if t not in have and stem(t) not in stems
               and not all(p in have or stem(p) in stems for p in t.split("-") if p)]
    return missing, len(terms)


def dot(a: list[float], b: list[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


class SupportChecker:
    def __init__(self, embedder, evidence: dict[int, list[str]], policy: AnswerPolicy, question: str = "",
                 abstracts: dict[int, str] | None = None) -> None:
        self.embedder = embedder
        self.policy = policy
        self.question = question
        self.abstracts = abstracts or {}  # source number -> "title. abstract", for claim checks
        self.evidence = evidence  # source number -> [title, evidence sentences...]
        self.threshold = policy.support
        self._kept: list[list[float]] = []

    @cached_property
    def _vectors(self) -> dict[int, list[list[float]]]:
        # Titles (the first item) are not support: "<title> [1]" or "X is <title>" says nothing the
        # abstract backs. They still count for grounding names (see grounded()).
        flat = [(n, s) for n, sentences in self.evidence.items() for s in sentences[1:]]
        # evidence sentences are abstract sentences: the embedder's cache usually has them already
        vectors = self.embedder.embed_sentences([s for _, s in flat]).tolist() if flat else []
        out: dict[int, list[list[float]]] = {n: [] for n in self.evidence}
        for (n, _), v in zip(flat, vectors, strict=True):
            out[n].append(v)
        return out

    def support(self, sentence: str) -> tuple[dict[int, float], list[float]]:
        """Per-source support of ``sentence`` and its vector."""
        vector = self.embedder.embed_texts([sentence])[0]
        return {n: max((dot(vector, v) for v in vs), default=0.0) for n, vs in self._vectors.items()}, vector

    def grounded(self, sentence: str, sources: list[int]) -> bool:
        """True when every number and name of ``sentence`` occurs in those sources' evidence or the question."""
        text = " ".join([self.question] + [s for n in sources for s in self.evidence.get(n, [])])
        return not ungrounded_terms(sentence, text)

    def claims_hold(self, sentence: str, sources: list[int]) -> bool:
        """Claim-level check against the whole cited abstract(s): every number and name of ``sentence``
        occurs there (or in the question), and at least the policy's ``key_terms`` share of its key terms do.
        Why: embedding support passes a sentence that is on topic ("Pre-training LLM outputs to their internal
        knowledge is a crucial step") although the abstract never says it; the claim's own words must be in
        the source."""
        text = " ".join([self.question] + [self.abstracts.get(n) or " ".join(self.evidence.get(n, []))
                                           for n in sources])
        if ungrounded_terms(sentence, text):
            return False
        missing, total = missing_key_terms(sentence, text)
        return not total or (total - len(missing)) / total >= self.policy.key_terms

    def restates(self, sentence: str, vector: list[float]) -> bool:
        """True when the sentence is the question or a source title said again (small models echo them)."""
        norm = " ".join(re.findall(r"\w+", sentence.casefold()))
        echoes = [self.question] + [sentences[0] for sentences in self.evidence.values() if sentences]
        for text in echoes:
            other = " ".join(re.findall(r"\w+", text.casefold()))
            if other and (other in norm and len(norm) < len(other) * 1.5 or norm in other):
                return True
        return sentence.rstrip().endswith("?")

    def is_duplicate(self, vector: list[float]) -> bool:
        return any(dot(vector, v) >= self.policy.duplicate for v in self._kept)

    def remember(self, vector: list[float]) -> None:
        self._kept.append(vector)
