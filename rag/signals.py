"""Answerability signals: a handful of measurements of whether the retrieved abstracts can answer a question.

The refusal gate (:mod:`rag.refusal`) reads them through a small logistic model fitted on the train
split of the evaluation bank (``python tools/fit_gate.py``), instead of hand-set thresholds that fit
one question set and not the next. Each signal is a plain, explainable measurement:

``sim``      best sentence similarity (MiniLM): is some sentence about what is asked?
``dense``    the top paper's chunk cosine.
``cov``      IDF-weighted share of the question's terms that the best paper's title + abstract contains.
``sent_cov`` the same share for the best single sentence (with its paper's title): facts sit in one sentence.
``title``    share of the question's terms found in the best title (a lookup by name).
``oov``      IDF-weighted share of the question's terms that occur nowhere in the corpus (after
             spelling correction): "Sanskrit", "insurance", "lasagna" mean the corpus cannot answer.
``miss``     the rarest term missing from the best paper (its IDF over the largest possible IDF): one
             missing rare word ("GLUE", "MMLU", "batch") is what a near-miss question looks like.
``numbers``  share of the question's numbers stated in the best paper (1 when it has none).
``typed``    the answer type is present ("how many X" needs a number, "when" a date), 1 or 0.
``lookup``   1 when every term of the question is in one retrieved title ("dino v2", "Summarize the DINOv2 paper").
``absent``   the heaviest term no abstract contains, over the question's heaviest term.
``absent_name`` 1 when a capitalised term (not the first word) or a name occurs in no abstract: a language, place,
             product or model the corpus does not know ("Thai", "Verilog", "Chinchilla").
``asked``    share of the asked-for attribute ("what ROUGE score", "how many GPUs", "which optimizer") in the
             best paper; generic measures ("accuracy", "score") count when the paper states numbers, and what a
             measure measures ("MMLU" in "what MMLU score") must share a sentence with a number.
``origin``   0 for "who proposed / introduced / invented X" when no retrieved paper introduces X (its
             title, or "we propose/introduce/present ... X"): a paper that uses X does not say who made it.

How a term is matched (exactly, after normalisation) is :mod:`rag.terms`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.answerable import _ASKS, _MEASURES, idf_of
from rag.terms import FRAMING, PaperTerms, Term, TextIndex, joined_spellings, numbers, paper_terms, question_terms
from rag.text import NAME_TOKEN, SPELLING_TOKEN, fold, looks_like_name, stem, stopwords
from rag.types import Hit

FEATURES = ("sim", "dense", "cov", "sent_cov", "title", "lookup", "oov", "absent", "absent_name", "miss", "asked",
            "numbers", "typed", "origin")


@lru_cache(maxsize=4096)
def rarity(word: str) -> float:
    """How informative a word is in general English, 0.05-1: "made" 0.19, "italian" 0.61, "sanskrit" 1.

    From the word's Zipf frequency in wordfreq's bundled lists (offline). Why: a question's everyday words
    ("remember", "got", "anyone") are missing from abstracts for no reason that matters, while a rare word
    missing from every abstract ("Sanskrit", "malware") means the corpus is about something else.
    """
    from wordfreq import zipf_frequency

    return min(1.0, max(0.05, (6.5 - zipf_frequency(word, "en")) / 3.0))


#: "Who proposed / which lab introduced / what first ...": the answer is who made something.
_ORIGIN = re.compile(r"\b(?:who|which (?:paper|group|team|lab|company))\b.*\b(?:propos|introduc|invent|creat|wrote|"
                     r"writ|develop|coin|originat|first)|\boriginally\b|\bin the first place\b|\bfirst (?:propos|introduc)",
                     re.I)


@dataclass
class Signals:
    values: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # terms the best paper lacks, for the refusal's explanation
    absent: list[str] = field(default_factory=list)  # terms no indexed abstract contains
    best: int = 0  # 1-based hit number of the best-covered paper (0: none)

    def vector(self) -> list[float]:
        return [self.values[name] for name in FEATURES]


def measure(question: str, hits: list[Hit], scored: list, doc_freq, n_docs: int, fixes: list[str] = ()) -> Signals:
    """All signals for ``question`` over its retrieved ``hits`` and scored sentences.

    ``doc_freq(stem) -> int`` and ``n_docs`` come from the BM25 index (corpus document frequencies);
    ``fixes`` are the BM25 spelling corrections of the question's words, so a typo is not "absent".
    A term weighs its corpus IDF times its general-English :func:`rarity` (names and numbers count as rare).
    """
    terms = question_terms(question)
    runs = joined_spellings(question)
    top_idf = math.log(n_docs + 1.5) if n_docs else 1.0

    def df(term: Term) -> int:
        if term.kind == "number":
            return 1
        words = [w for w in re.split(r"[-/\s]", fold(term.text)) if w]
        return min((doc_freq(stem(w)) for w in words), default=0) if words else 0

    def weight(term: Term) -> float:
        if term.kind == "number":
            return top_idf * 0.5
        d = df(term)
        idf = idf_of(d, n_docs) if n_docs else 1.0
        return idf * (1.0 if term.kind == "name" else rarity(fold(term.text)))

    papers = [paper_terms(h.title, h.abstract or h.snippet) for h in hits]
    weights = [weight(t) for t in terms]
    total = sum(weights) or 1.0

    def matched(index: TextIndex) -> list[bool]:
        found = [index.has(t) for t in terms]
        for joined, start, end in runs:  # "dino v2" written "DINOv2" in the paper
            if joined in index.grams:
                found = [f or start <= t.start < end for f, t in zip(found, terms, strict=True)]
        return found

    def share(index: TextIndex) -> float:
        return sum(w for w, f in zip(weights, matched(index), strict=True) if f) / total if terms else 1.0

    found = [matched(p.whole) for p in papers]
    covs = [sum(w for w, f in zip(weights, row, strict=True) if f) / total if terms else 1.0 for row in found]
    best = max(range(len(papers)), key=lambda i: covs[i]) if papers else -1
    fixed = {fold(f) for f in fixes}
    absent = [t for i, t in enumerate(terms) if t.kind != "number" and df(t) == 0
              and not any(row[i] for row in found) and not _corrected(t.text, fixed)]
    missing = [(w, t) for w, t, f in zip(weights, terms, found[best] if papers else [], strict=False) if not f]
    nums = [i for i, t in enumerate(terms) if t.kind == "number"]
    sim = max((s.similarity for s in scored), default=max((h.dense for h in hits), default=0.0))
    values = {
        "sim": sim,
        "dense": hits[0].dense if hits else 0.0,
        "cov": covs[best] if papers else 0.0,
        "sent_cov": max((share(s) for p in papers for s in p.sentence_indexes), default=0.0),
        "title": max((share(p.title_index) for p in papers), default=0.0),
        "oov": sum(weights[i] for i, t in enumerate(terms) if t in absent) / total if terms else 0.0,
        "miss": max((w for w, _ in missing), default=0.0) / (max(weights) if weights else 1.0),
        "numbers": (sum(found[best][i] for i in nums) / len(nums)) if nums and papers else 1.0,
        "typed": 1.0 if papers and papers[best].typed(question) else 0.0,
    }
    values["lookup"] = 1.0 if values["title"] >= 0.999 else 0.0
    heaviest = max(weights) if weights else 1.0
    values["absent"] = max((weights[i] for i, t in enumerate(terms) if t in absent), default=0.0) / heaviest
    values["asked"] = _asked(question, papers[best]) if papers else 0.0
    values["absent_name"] = 1.0 if any(t.kind == "name" or (t.text[:1].isupper() and t.start > 0) for t in absent) else 0.0
    values["origin"] = _origin(question, terms, papers)
    values = {name: values[name] for name in FEATURES}
    ranked_missing = [t.text for _, t in sorted(missing, key=lambda wt: -wt[0])]
    return Signals(values, ranked_missing, [t.text for t in absent], best + 1)


#: A terse value question without a question word ("qwen2.5-72b-instruct mmlu number", "sabia-65b mmlu
#: score"): the word before the measure noun is what is asked for.
_TERSE_ASK = re.compile(r"([\w+.\-]*[a-z0-9][\w+.\-]*)\s+(?:score|scores|number|numbers|acc|accuracy|results?)\b", re.I)
_QUESTION_WORD = re.compile(r"\b(?:what|which|who|whom|whose|how|when|where|why|is|are|was|were|does|do|did|can|could"
                            r"|list|name|tell|give|show|compare|summari[sz]e|explain|describe)\b", re.I)


def asked_words(question: str) -> list[str]:
    """The asked-for attribute, names included: "What MMLU score does ..." -> MMLU, score; "How many GPUs were
    used" -> GPUs; "which base language model did they" -> base, language, model; "sabia-65b mmlu score"
    -> mmlu."""
    for pattern in _ASKS:
        match = pattern.search(question)
        if match:
            words = [m.group().rstrip(".") for m in NAME_TOKEN.finditer(match.group(1))]
            return [w for w in words if w and fold(w) not in stopwords() and fold(w) not in FRAMING]
    terse = None if _QUESTION_WORD.search(question) else _TERSE_ASK.search(question)
    if terse and fold(terse.group(1)) not in stopwords() and fold(terse.group(1)) not in FRAMING:
        return [terse.group(1)]
    return []


def _asked(question: str, paper: PaperTerms) -> float:
    """Share of the asked-for attribute the paper has. Generic measures ("accuracy", "score") only count,
    as present when the paper states numbers, if the attribute is nothing else."""
    words = asked_words(question)
    specific = [w for w in words if fold(w) not in _MEASURES]
    if not words:
        return 1.0
    if not specific:
        return 1.0 if paper.whole.numbers else 0.0
    terms = [Term(w, "name" if looks_like_name(w) else "word") for w in specific]
    if len(specific) < len(words) and paper.sentences:
        # a measured value ("What MMLU score", "what zero-shot accuracy") is stated beside what it measures:
        # the share of the specific words that one sentence with a number holds
        return max((sum(index.has(t) for t in terms) / len(terms)
                    for sentence, index in zip(paper.sentences, paper.sentence_indexes, strict=False) if numbers(sentence)),
                   default=0.0)
    return sum(paper.whole.has(t) for t in terms) / len(specific)


def _origin(question: str, terms: list[Term], papers: list[PaperTerms]) -> float:
    """0 for an origin question ("who proposed X") when no retrieved paper introduces one of its names."""
    if not _ORIGIN.search(question):
        return 1.0
    runs = [m.group() for m in re.finditer(r"(?<![\w+\-.])[A-Z0-9][\w+\-.]*(?:\s+[A-Z0-9][\w+\-.]*)*", question)]
    runs = [r for r in runs if fold(r.split()[0]) not in stopwords() or len(r.split()) > 1]
    runs += [t for t in SPELLING_TOKEN.findall(question) if t.islower() and looks_like_name(t)]  # "word2vec", "codet5+"
    names = runs or [t.text for t in terms if t.kind == "name"] or [t.text for t in terms if t.kind == "word"]
    return 1.0 if any(p.introduces(n) for p in papers for n in names) else 0.0


def _corrected(word: str, fixes: set[str]) -> bool:
    """A misspelling that BM25's spelling correction mapped to a corpus word (compare by stem prefix)."""
    import difflib

    w = fold(word)
    return any(difflib.SequenceMatcher(None, w, f).ratio() >= 0.8 for f in fixes)
