"""Answerability: does one retrieved abstract mention what the question specifically asks for?

Similarity cannot see a missing detail: "What COMET score does Tower+ 72B get on WMT24?" is as close
to the Tower+ abstract as an answerable question, although the abstract never mentions COMET or
WMT24. No offline model available to this project reads well enough to judge that (SmolLM2-135M is
near chance on yes/no answerability, and no NLI or QA model ships in a package), so this is the
lexical answer check of classic QA systems, written by hand:

* **Specific terms** of the question: its *names* (tokens with a digit, an inner capital, or all
  capitals: ``COMET``, ``WMT24``, ``72B``, ``pass@1``, ``GPUs``) and, for a question that asks for a
  value ("how many X", "what X does", "which X was", "what is the X of"), the words of X (its
  *attribute*: "vocabulary size", "peak learning rate"). Capitalised words ("Chinchilla", "Dice")
  count only in value questions: in descriptive questions they are mostly paraphrase ("northern Japan").
* **Coverage** of one retrieved paper: the IDF-weighted share of those terms its title + abstract
  contains. Names match exactly, by stem, by acronym initials ("EHR" = "electronic health records"),
  by their named parts ("CLIP-style"), by "7B" = "7 billion", or fuzzily when long (a typo such as
  "MosiacBERT"). Attribute words match by stem or, failing that, by word-vector similarity (MiniLM,
  cosine >= ``SOFT_MATCH``: "languages" ~ "multilingual", "avian" ~ "bird"). Generic measure words
  ("accuracy", "score") count as present when the abstract reports numbers.
* **Answer type**: "how many/much X" needs a sentence with X and a number; "when" needs a date.

The question is answerable when the best paper's coverage reaches ``COVERAGE_THRESHOLD``. A question
with no specific terms (a description or a paraphrase) is left to the similarity gate. The choice
of threshold and what it measures are recorded in :mod:`rag.refusal`.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rag.types import Hit

#: Minimum cosine (all-MiniLM-L6-v2, single words) for an attribute word to count as present.
#: Measured on pairs from the dev set: synonyms 0.65-0.85 ("avian"/"bird" 0.70, "sewage"/"wastewater"
#: 0.80), unrelated metric words <= 0.40 ("COMET"/"translation" 0.20, "money"/"cost" 0.40).
SOFT_MATCH = 0.6

_VERB = r"(?:does|did|do|is|was|were|are|has|have|had|can|could|will|would)"
_PHRASE = r"((?:\S+\s+){0,5}?\S+)"  # the attribute: up to six words before the verb
_ASKS = (
    re.compile(rf"\bhow (?:many|much)\s+(?!{_VERB}\b){_PHRASE}\s+{_VERB}\b", re.I),
    re.compile(rf"\bwhat\s+(?!{_VERB}\b){_PHRASE}\s+{_VERB}\b", re.I),
    re.compile(rf"\bwhich\s+(?!{_VERB}\b){_PHRASE}\s+{_VERB}\b", re.I),
    re.compile(r"\bwhat (?:is|are|was|were) (?:the )?(?:[\w+\-.]+'s )?(.+?)\s+(?:of|on|for|in|at|by)\b", re.I),
)
_COUNT = re.compile(r"\bhow (?:many|much)\b", re.I)
_WHEN = re.compile(r"^\s*when\b|\b(?:in )?what year\b|\bin which year\b", re.I)
_DATE = re.compile(r"\b(?:19|20)\d\d\b|\b(?:january|february|march|april|may|june|july|august|september|october"
                   r"|november|december)\b", re.I)
_TOKEN = re.compile(r"[^\W_][\w+@.×\-]*[\w+]|[^\W_]", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
#: Words that say what kind of thing the question wants, not which one; never specific terms.
_QUESTION_WORDS = frozenset({
    "how", "many", "much", "what", "which", "who", "when", "paper", "papers", "work", "works", "study", "studies",
    "use", "used", "using",
})
#: Measure words an abstract states as a bare number ("84.0% on ImageNet-1k"): present when it has numbers.
_MEASURES = frozenset({"accuracy", "score", "scores", "performance", "result", "results"})
_MAGNITUDE = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from llama_index.core.utils import globals_helper  # NLTK's English list, bundled with llama-index

    return frozenset(globals_helper.stopwords) | _QUESTION_WORDS


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the stemmer llama-index's BM25 retriever uses, so stems agree with the IDF table

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return _stemmer().stemWord(word.casefold())


def fold(text: str) -> str:
    """Casefold and strip accents ("Sabiá" -> "sabia", "TÜLU" -> "tulu"), "×" -> "x"."""
    text = unicodedata.normalize("NFKD", text.replace("×", "x")).encode("ascii", "ignore").decode()
    return text.casefold()


def is_name(token: str, first: bool = False) -> bool:
    """A digit, an inner capital, or all capitals; a capitalised word only when it is not the first."""
    if len(token) < 2:
        return False
    return (any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:])
            or (not first and token[0].isupper()))


def is_identifier(token: str) -> bool:
    """A name that identifies something: a part with a digit, an inner capital or all capitals
    ("GPT-4", "CLIP-style", "WMT24", "MosaicBERT"), unlike "Chinchilla" or "non-English"."""
    return any(len(p) > 0 and (any(c.isdigit() for c in p) or any(c.isupper() for c in p[1:])
                               or (len(p) > 1 and p.isupper()))
               for p in token.split("-"))


def is_weak_name(token: str) -> bool:
    """Capitalised words ("Chinchilla", "Japan", "non-English"): a name, or a paraphrase's proper adjective."""
    return not is_identifier(token)


@dataclass
class Ask:
    """What a question specifically asks for."""

    names: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    counts: bool = False  # "how many/much": the answer is a number
    when: bool = False  # the answer is a date

    @property
    def empty(self) -> bool:
        return not (self.names or self.attributes or self.when)


def _sentence_start(text: str, at: int) -> bool:
    """True at the start of the text or of a sentence in it ("... about? What results ...")."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".?!:;\"'("


def parse_ask(question: str) -> Ask:
    names = []
    for match in _TOKEN.finditer(question):
        token = match.group().rstrip(".")
        if token and is_name(token, first=_sentence_start(question, match.start())) and fold(token) not in _stopwords():
            names.append(token)
    attributes: list[str] = []
    value_question = False
    for pattern in _ASKS:
        match = pattern.search(question)
        if match:
            value_question = True
            words = [m.group().rstrip(".") for m in _TOKEN.finditer(match.group(1))]
            attributes = [w for w in words if w and fold(w) not in _stopwords() and not is_name(w)]
            break
    if not value_question:
        names = [n for n in names if not is_weak_name(n)]
    return Ask(names=list(dict.fromkeys(names)), attributes=list(dict.fromkeys(attributes)),
               counts=bool(_COUNT.search(question)), when=bool(_WHEN.search(question)))


def token_set(text: str) -> set[str]:
    """The tokens of (folded) ``text`` plus the parts of hyphenated ones: "clip-style" gives clip-style, clip, style."""
    tokens = {m.group().rstrip(".-") for m in _TOKEN.finditer(text)}
    tokens |= {part for t in list(tokens) for part in re.split(r"[-/]", t) if len(part) > 1}
    return {t for t in tokens if t}


class PaperText:
    """One paper's title + abstract, tokenised once for all the matching rules."""

    def __init__(self, hit: Hit) -> None:
        self.text = fold(f"{hit.title}. {hit.abstract or hit.snippet}")
        self.abstract = hit.abstract or hit.snippet
        self.tokens = token_set(self.text)
        self.stems = {stem(t) for t in self.tokens}
        self.words = re.findall(r"[a-z0-9]+", self.text)
        self.joined = " ".join(self.words)

    def has_name(self, name: str) -> bool:
        n = fold(name).rstrip(".")
        if n in self.tokens or stem(n) in self.stems:
            return True
        if re.fullmatch(r"[A-Z]{2,6}s?", name):  # an acronym spelled out: EHR = electronic health records
            letters = name.rstrip("s").lower()
            if f" {' '.join(letters)} " in f" {' '.join(w[0] for w in self.words)} ":
                return True
        parts = name.split("-")
        plain = [p.isalpha() and p[1:].islower() for p in parts]  # ordinary words: "style", "Base"
        if len(parts) > 1 and any(plain) and not all(plain):  # "CLIP-style", "MosaicBERT-Base": the named parts
            named_parts = [fold(p) for p, is_plain in zip(parts, plain, strict=True) if not is_plain]
            if named_parts and all(p in self.tokens for p in named_parts):
                return True
        magnitude = re.fullmatch(r"(\d+(?:\.\d+)?)([kmbt])", n)  # "7B" = "7 billion"
        if magnitude and re.search(rf"\b{re.escape(magnitude.group(1))}[\s-]*{_MAGNITUDE[magnitude.group(2)]}", self.text):
            return True
        if re.search(r"[a-z]\d", n) and re.sub(r"([a-z])(\d)", r"\1 \2", n) in self.joined:  # "tulu3" = "tulu 3"
            return True
        if len(n) >= 6 and n.isalpha():  # a typo in a long plain name ("MosiacBERT"); never versions ("CodeT5+")
            return any(len(t) >= 6 and difflib.SequenceMatcher(None, n, t).ratio() >= 0.85 for t in self.tokens)
        return False

    def has_word(self, word: str) -> bool:
        parts = [p for p in re.split(r"[-/]", fold(word)) if p]
        return bool(parts) and all(p in self.tokens or stem(p) in self.stems for p in parts)

    def has_numbers(self) -> bool:
        return bool(re.search(r"\d", self.abstract))

    def states_count_of(self, attributes: list[str]) -> bool:
        """Some sentence names one of the attribute words and gives a number."""
        wanted = {stem(p) for a in attributes for p in re.split(r"[-/]", fold(a)) if p}
        for sentence in _SENTENCE.split(self.abstract):
            words = {stem(w) for w in re.findall(r"[^\W\d_]+", fold(sentence))}
            if wanted & words and re.search(r"\d", sentence):
                return True
        return False


@lru_cache(maxsize=256)
def _paper_text(title: str, body: str) -> PaperText:
    return PaperText(Hit(paper_id="", title=title, score=0.0, snippet=body, abstract=body))


def paper_text(hit: Hit) -> PaperText:
    """The hit's :class:`PaperText`, built once per paper text and shared (read-only).

    Why: one answer reads the same five papers in up to four places (the gate's coverage, evidence
    ranking, the named-paper filter of the LLM citations and of the extractive composition), and the
    same papers come back across questions; tokenising them is ~0.2 ms a paper each time.
    """
    return _paper_text(hit.title, hit.abstract or hit.snippet)


def coverage(ask: Ask, paper: PaperText, idf, similar) -> float:
    """IDF-weighted share of the ask's terms that ``paper`` contains (see module docstring).

    ``idf(word) -> float`` weights rare terms; ``similar(words, paper_words) -> list[float]`` gives each
    word's best cosine to the paper's words (only called for attribute words that miss lexically).
    """
    terms = [(n, "name") for n in ask.names] + [(a, "attribute") for a in ask.attributes]
    covered: list[float] = []
    soft: list[int] = []
    for i, (term, kind) in enumerate(terms):
        if kind == "name":
            hit = paper.has_name(term)
            if not hit and is_weak_name(term):
                soft.append(i)
        else:
            hit = paper.has_word(term) or (fold(term) in _MEASURES and paper.has_numbers())
            if not hit:
                soft.append(i)
        covered.append(1.0 if hit else 0.0)
    if soft:
        vocabulary = sorted({w for w in paper.words if w.isalpha() and len(w) > 2 and w not in _stopwords()})
        for i, best in zip(soft, similar([fold(terms[i][0]) for i in soft], vocabulary), strict=True):
            covered[i] = 1.0 if best >= SOFT_MATCH else 0.0
    weights = [idf(t) * (0.5 if kind == "name" and is_weak_name(t) else 1.0) for t, kind in terms]
    share = sum(w * c for w, c in zip(weights, covered, strict=True)) / sum(weights) if terms else 1.0
    if ask.when and not _DATE.search(paper.abstract):
        share = min(share, 0.5)
    if ask.counts and ask.attributes and not paper.states_count_of(ask.attributes):
        share = min(share, 0.5)
    return share


def best_coverage(question: str, hits: list[Hit], idf, similar) -> tuple[float, Ask]:
    """The best coverage over the retrieved papers (1.0 when the question asks for nothing specific)."""
    ask = parse_ask(question)
    if ask.empty or not hits:
        return 1.0, ask
    return max(coverage(ask, paper_text(h), idf, similar) for h in hits), ask


def term_coverage(question: str, paper: PaperText, idf=None) -> float:
    """IDF-weighted share of the question's content words (by stem) that the paper's title + abstract uses.

    Unlike :func:`coverage`, every content word counts, not only names and asked-for attributes: this
    is a relevance feature for ranking evidence (rag.answer.extractive), not an answerability test.
    Without ``idf`` every word weighs the same.
    """
    # whole tokens, names included ("tower+", "gpt-4", "pass@1"); a hyphenated word counts once, as a whole
    # or, failing that, by all its parts ("re-initializing" ~ "initializing")
    words = {w for w in (m.group().rstrip(".-") for m in _TOKEN.finditer(fold(question)))
             if len(w) > 1 and w not in _stopwords() and any(c.isalnum() for c in w)}
    if not words:
        return 0.0
    weights = {w: idf(w) if idf else 1.0 for w in words}
    total = sum(weights.values()) or 1.0
    return sum(v for w, v in weights.items() if w in paper.tokens or stem(w) in paper.stems or paper.has_word(w)) / total


def bm25_idf(doc_freq, n_docs: int):
    """IDF in the BM25 form from a document-frequency lookup (stem -> count); unseen words weigh most."""
    def idf(word: str) -> float:
        df = doc_freq(stem(word))
        return math.log((n_docs - df + 0.5) / (df + 0.5) + 1)
    return idf


def named_sources(question: str, hits: list[Hit]) -> set[int]:
    """1-based numbers of the hits that contain every identifier the question names (empty: no filter).

    "What is HuBERT?" is about HuBERT: a sentence from another abstract, however similar, would cite a
    paper the question did not ask about. Used to keep answers to named papers.
    """
    names = [n for n in parse_ask(question).names if is_identifier(n)]
    if not names:
        return set()
    return {i for i, hit in enumerate(hits, start=1) if all(paper_text(hit).has_name(n) for n in names)}
