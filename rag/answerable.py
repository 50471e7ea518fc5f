"""Question parsing and paper-text matching shared by the refusal signals and evidence ranking.

* :func:`parse_ask`: what a question specifically asks for (its names and the attribute of a value
  question: "how many X", "what X does", "which X was"), and its answer type (a count, a date).
* :class:`PaperText` / :func:`paper_text`: one paper's title + abstract tokenised once; names match
  exactly, by stem, by acronym initials ("EHR" = "electronic health records"), by named parts
  ("CLIP-style"), "7B" = "7 billion", or with one typo in a long plain name ("MosiacBERT").
* :func:`term_coverage`: IDF-weighted share of a question's words a paper uses (evidence ranking).
* :func:`named_sources`: the retrieved papers a question names (answers about HuBERT cite HuBERT).

Written by hand because no maintained library matches scientific names this way; the gate's own
signals (exact matching of numbers and name spellings) are in :mod:`rag.signals`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from rag.text import (
    ALNUM_RUN,
    NAME_TOKEN,
    VERSION_WORD,
    at_sentence_start,
    fold,
    is_identifier,
    is_name,
    squash,
    stem,
    stopwords,
)
from rag.types import Hit

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
#: Measure words an abstract states as a bare number ("84.0% on ImageNet-1k"): present when it has numbers.
_MEASURES = frozenset({"accuracy", "score", "scores", "performance", "result", "results"})
_MAGNITUDE = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}
# rag.answer.support still imports this private name from here (switch it to rag.text.stopwords)


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
    #: Every word (folded) of every asked-for phrase, names included: "how many tokens ..., and how many GPUs
    #: were used" -> tokens, gpus. What a question asks for is not what it is about.
    asked: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.names or self.attributes or self.when)


def parse_ask(question: str) -> Ask:
    names = []
    for match in NAME_TOKEN.finditer(question):
        token = match.group().rstrip(".")
        if token and is_name(token, first=at_sentence_start(question, match.start())) and fold(token) not in stopwords():
            names.append(token)
    attributes: list[str] = []
    value_question = False
    for pattern in _ASKS:
        match = pattern.search(question)
        if match:
            value_question = True
            words = [m.group().rstrip(".") for m in NAME_TOKEN.finditer(match.group(1))]
            attributes = [w for w in words if w and fold(w) not in stopwords() and not is_name(w)]
            break
    if not value_question:
        names = [n for n in names if not is_weak_name(n)]
    asked = frozenset(fold(w) for pattern in _ASKS for m in pattern.finditer(question)
                      for w in NAME_TOKEN.findall(m.group(1)))
    return Ask(names=list(dict.fromkeys(names)), attributes=list(dict.fromkeys(attributes)),
               counts=bool(_COUNT.search(question)), when=bool(_WHEN.search(question)), asked=asked)


def token_set(text: str) -> set[str]:
    """The tokens of (folded) ``text`` plus the parts of hyphenated ones: "clip-style" gives clip-style, clip, style."""
    tokens = {m.group().rstrip(".-") for m in NAME_TOKEN.finditer(text)}
    tokens |= {part for t in list(tokens) for part in re.split(r"[-/]", t) if len(part) > 1}
    return {t for t in tokens if t}


#: A word glued to an acronym in a model name: "MentalBERT", "SciBERT", "EduBERT" (the word, then the acronym).
_GLUED = re.compile(r"\b([A-Z][a-z]{2,})([A-Z]{2,})\b")


def _glued_words(text: str) -> set[str]:
    """The parts of names glued from a word and an acronym: "MentalBERT" -> mental, bert. A question names
    such a model in words ("the Chinese mental health BERT")."""
    return {part.lower() for match in _GLUED.finditer(text) for part in match.groups()}


class PaperText:
    """One paper's title + abstract, tokenised once for all the matching rules."""

    def __init__(self, hit: Hit) -> None:
        self.text = fold(f"{hit.title}. {hit.abstract or hit.snippet}")
        self.abstract = hit.abstract or hit.snippet
        self.tokens = token_set(self.text) | _glued_words(f"{hit.title} {self.abstract}")
        self.stems = {stem(t) for t in self.tokens}
        self.words = ALNUM_RUN.findall(self.text)
        self.joined = " ".join(self.words)

    @cached_property
    def squashed(self) -> set[str]:
        """Its names squashed, alone and with the next one or two words: "DINOv2", "OLMo 2", "Llama 3 SynE" ->
        dinov2, olmo2, llama3syne."""
        words = [m.group().rstrip(".-") for m in NAME_TOKEN.finditer(self.text)]
        return ({squash(w) for w in words} | {squash(f"{a} {b}") for a, b in zip(words, words[1:], strict=False)}
                | {squash(f"{a} {b} {c}") for a, b, c in zip(words, words[1:], words[2:], strict=False)})

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

    def uses(self, word: str) -> bool:
        """A folded content word (:func:`content_words`) is in the text: whole, by stem, or by all its parts."""
        return word in self.tokens or stem(word) in self.stems or self.has_word(word)


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


def title_coverage(question: str, title: str, idf=None) -> float:
    """:func:`term_coverage` of the title alone: how fully the question's words name this paper."""
    return term_coverage(question, _paper_text(title, ""), idf)


def term_coverage(question: str, paper: PaperText, idf=None) -> float:
    """IDF-weighted share of the question's content words (by stem) that the paper's title + abstract uses.

    Unlike :func:`coverage`, every content word counts, not only names and asked-for attributes: this
    is a relevance feature for ranking evidence (rag.answer.extractive), not an answerability test.
    Without ``idf`` every word weighs the same.
    """
    words = content_words(question)
    if not words:
        return 0.0
    weights = {w: idf(w) if idf else 1.0 for w in words}
    total = sum(weights.values()) or 1.0
    return sum(v for w, v in weights.items() if paper.uses(w)) / total


def content_words(question: str) -> set[str]:
    """The question's content words: whole tokens, names included ("tower+", "gpt-4", "pass@1"), no stop words.
    A hyphenated word counts once, matched whole or, failing that, by all its parts (:meth:`PaperText.uses`)."""
    return {w for w in (m.group().rstrip(".-") for m in NAME_TOKEN.finditer(fold(question)))
            if len(w) > 1 and w not in stopwords() and any(c.isalnum() for c in w)}


def idf_of(df: int, n_docs: int) -> float:
    """BM25's IDF of a word in ``df`` of ``n_docs`` documents; ``df`` 0 (a word no document has) weighs most."""
    return math.log((n_docs - df + 0.5) / (df + 0.5) + 1)


def bm25_idf(doc_freq, n_docs: int):
    """IDF in the BM25 form from a document-frequency lookup (stem -> count); unseen words weigh most."""
    def idf(word: str) -> float:
        return idf_of(doc_freq(stem(word)), n_docs)
    return idf


def named_sources(question: str, hits: list[Hit]) -> set[int]:
    """1-based numbers of the hits that contain every identifier the question names (empty: no filter).

    "What is HuBERT?" is about HuBERT: a sentence from another abstract, however similar, would cite a
    paper the question did not ask about. Used to keep answers to named papers. A name typed in lower
    case and apart ("mosaic bert", "swin umamba") is a name when a title writes it as one word; then the
    papers that write it, glued or apart, are the named ones ("wav2vec 2.0" is in many abstracts).
    """
    ask = parse_ask(question)  # "how many GPUs were used to build Dolma" names Dolma, not GPUs
    names = [n for n in ask.names if is_identifier(n) and fold(n) not in ask.asked]
    joined = _joined_names(question)
    titled = [run for run in word_runs(question) if any(run in title_names(h.title) for h in hits)]
    if not names and not titled:
        return set()
    return {i for i, hit in enumerate(hits, start=1)
            if all(_has(paper_text(hit), n, joined.get(n)) for n in names)
            and all(run in paper_text(hit).squashed for run in titled)}


def _joined_names(question: str) -> dict[str, str]:
    """Names written apart from their version ("dino v2", "codet5 plus", "codet5-plus") -> the name as one word.

    Why: "v2" alone is in every "-v2" title (ptt5-v2) and "codet5" in both CodeT5 and CodeT5+; asked
    as "dino v2" or "codet5 plus" the question names DINOv2 or CodeT5+ only."""
    words = [m.group().rstrip(".") for m in NAME_TOKEN.finditer(question)]
    out: dict[str, str] = {w: squash(w) for w in words if re.search(r"[^\W_]-plus$", w, re.I)}
    for head, version in zip(words, words[1:], strict=False):
        if VERSION_WORD.fullmatch(version) and not VERSION_WORD.fullmatch(head) and fold(head) not in stopwords():
            out[head] = out[version] = squash(f"{head} {version}")
    return out


def word_runs(question: str) -> list[str]:
    """Two or three adjacent words of the question squashed into one ("mosaic bert" -> mosaicbert)."""
    words = [w for w in re.findall(r"[^\W_][\w+.\-]*", question) if fold(w) not in stopwords()]
    return [squash(" ".join(words[i:i + n])) for n in (2, 3) for i in range(len(words) - n + 1)]


@lru_cache(maxsize=4096)
def title_names(title: str) -> frozenset[str]:
    """A title's names squashed ("Swin-UMamba: Mamba-based UNet" -> swinumamba, unet). Names only: "pre
    training" typed apart must not make every "Pre-training" title the one a question names."""
    words = (m.group().rstrip(".:") for m in NAME_TOKEN.finditer(title))
    return frozenset(squash(w) for w in words if is_identifier(w))


def _has(paper: PaperText, name: str, joined: str | None) -> bool:
    """The paper names ``name``; a name written apart from its version only as that whole name."""
    return paper.has_name(name) if joined is None else joined in paper.squashed
