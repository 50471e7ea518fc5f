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
             best paper; generic measures ("accuracy", "score") count when the paper states numbers.
``origin``   0 for "who proposed / introduced / invented X" when no retrieved paper introduces X (its
             title, or "we propose/introduce/present ... X"): a paper that uses X does not say who made it.

Matching is lexical and exact after normalisation (no word vectors, so "Thai" never matches
"Korean"): case and accents fold; names compare with hyphens, spaces and "plus"/"+" squashed away
("CodeT5 plus" = "CodeT5+", "OLMo-2" = "olmo2" = "OLMo 2"); numbers compare by value ("53k" =
"53,000", "ten" = "10", "1.5T" = "1.5 trillion", "3 percent" = "3%"); other words by stem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.answerable import _ASKS, _DATE, _MEASURES, _SENTENCE, _TOKEN, _stopwords, fold, parse_ask, stem
from rag.types import Hit

FEATURES = ("sim", "dense", "cov", "sent_cov", "title", "lookup", "oov", "absent", "absent_name", "miss", "asked",
            "numbers", "typed", "origin")

#: Words that frame a question about papers rather than say what it is about ("according to the abstract,
#: summarize the main idea"): never terms. Only task vocabulary belongs here, no topic word.
_FRAMING = frozenset({
    "abstract", "abstracts", "according", "article", "authors", "describe", "described", "describes", "explain",
    "idea", "ideas", "list", "main", "mention", "mentioned", "mentions", "overview", "summarise", "summarize",
    "summary", "tell", "vs", "versus", "e.g", "i.e", "etc",
})


@lru_cache(maxsize=4096)
def rarity(word: str) -> float:
    """How informative a word is in general English, 0.05-1: "made" 0.19, "italian" 0.61, "sanskrit" 1.

    From the word's Zipf frequency in wordfreq's bundled lists (offline). Why: a question's everyday words
    ("remember", "got", "anyone") are missing from abstracts for no reason that matters, while a rare word
    missing from every abstract ("Sanskrit", "malware") means the corpus is about something else.
    """
    from wordfreq import zipf_frequency

    return min(1.0, max(0.05, (6.5 - zipf_frequency(word, "en")) / 3.0))

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12, "double": 2, "twice": 2, "half": 50,
}
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
          "t": 1e12, "trillion": 1e12}
# A number not glued to a name ("GPT-4", "v2", "WMT24" are names), with an optional scale or unit word.
_NUMBER = re.compile(
    r"(?<![A-Za-z_\-.\d])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?"
    r"(thousand|million|billion|trillion|percent|bn|mn|[kmbt](?![a-z])|%|x(?![a-z])|×)?", re.I)
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_WORD = re.compile(r"[^\W_][\w+@.]*[\w+]|[^\W_]", re.UNICODE)
_PIECE = re.compile(r"[^\s\-/,;:()\[\]\"'“”‘’]+")


def squash(text: str) -> str:
    """Fold a name to compare its spellings: "CodeT5 plus" / "codet5+" / "OLMo-2" / "olmo 2" -> "codet5+" / "olmo2"."""
    text = re.sub(r"\s*\bplus\b", "+", fold(text))
    return re.sub(r"[\s\-_'’.]+", "", text)


def numbers(text: str) -> set[float]:
    """The values of the numbers ``text`` states, scales applied: "53k", "53,000" and "53 thousand" -> 53000."""
    values: set[float] = set()
    for match in _NUMBER.finditer(text):
        if _glued(text, match.start()):
            continue
        value = float(match.group(1).replace(",", ""))
        unit = (match.group(2) or "").lower()
        values.add(round(value * _SCALE.get(unit, 1.0), 6))
    for match in _NUMBER_WORD.finditer(text):
        values.add(float(_NUMBER_WORDS[match.group(1).lower()]))
    return values


def _glued(text: str, start: int) -> bool:
    """A number after "/" belongs to a name ("ViT-L/14") unless the "/" follows a number ("3.0%/5.2%")."""
    return start >= 2 and text[start - 1] == "/" and not (text[start - 2].isdigit() or text[start - 2] == "%")


def _number_spans(text: str) -> list[tuple[int, int]]:
    return ([m.span() for m in _NUMBER.finditer(text) if not _glued(text, m.start())]
            + [m.span() for m in _NUMBER_WORD.finditer(text)])


@dataclass
class Term:
    """One specific term of a question: a name or word (``text``), or a number (``value``)."""

    text: str
    kind: str  # "name" | "word" | "number"
    value: float = 0.0
    start: int = -1  # character offset in the question (for matching split or joined spellings)


def is_namey(token: str) -> bool:
    """A digit, "+", "@", an inner capital, or all capitals: "GPT-4", "CodeT5+", "pass@1", "MosaicBERT", "GLUE"."""
    return (any(c.isdigit() or c in "+@" for c in token) or any(c.isupper() for c in token[1:])
            or (len(token) > 1 and token.isupper()))


def question_terms(question: str) -> list[Term]:
    """The question's numbers, names and content words (stopwords and question words dropped).

    A name followed by a bare small number or "plus" is one name ("OLMo 2", "CodeT5 plus").
    """
    terms: list[Term] = []
    spans = _number_spans(question)
    for match in _NUMBER.finditer(question):
        if not _glued(question, match.start()):
            value = next(iter(numbers(match.group())), None)
            if value is not None and all(t.value != value for t in terms):
                terms.append(Term(f"{value:g}", "number", value, match.start()))
    for match in _NUMBER_WORD.finditer(question):
        value = float(_NUMBER_WORDS[match.group(1).lower()])
        if all(t.value != value for t in terms):
            terms.append(Term(f"{value:g}", "number", value, match.start()))
    masked = list(question)
    for start, end in spans:
        masked[start:end] = " " * (end - start)
    text = "".join(masked)
    # re-attach "X 2" / "X plus" to their name from the original text
    joined = re.finditer(r"([^\W_][\w+.\-]*)\s+(\d{1,2}(?:\.\d)?|plus)\b(?!\s*(?:%|percent|[kmbt]\b|billion|million))",
                         question, re.I)
    merged = {m.group(1) for m in joined if not m.group(1).isdigit() and fold(m.group(1)) not in _stopwords()}
    merged_terms = {}
    for m in re.finditer(r"([^\W_][\w+.\-]*)\s+(\d{1,2}(?:\.\d)?|plus)\b", question, re.I):
        if m.group(1) in merged:
            merged_terms[m.group(1)] = m.group(0)
    seen: set[str] = set()
    for match in _WORD.finditer(text):
        token = match.group().rstrip(".")
        folded = fold(token)
        if (len(folded) < 2 or folded in _stopwords() or folded in _FRAMING or folded in seen
                or not any(c.isalnum() for c in folded)):
            continue
        seen.add(folded)
        if token in merged_terms:
            terms.append(Term(merged_terms[token], "name", start=match.start()))
        else:
            terms.append(Term(token, "name" if is_namey(token) else "word", start=match.start()))
    return terms


_INTRODUCES = re.compile(r"\b(?:we|this (?:paper|work))\s+(?:\w+\s+)?(?:propose|introduce|present|develop|release)",
                         re.I)
_ORIGIN = re.compile(r"\b(?:who|which (?:paper|group|team|lab|company))\b.*\b(?:propos|introduc|invent|creat|wrote|"
                     r"writ|develop|coin|originat|first)|\boriginally\b|\bin the first place\b|\bfirst (?:propos|introduc)",
                     re.I)
_RAW = re.compile(r"[^\W_][\w+.]*[\w+]|[^\W_]")


def joined_spellings(question: str) -> list[tuple[str, int, int]]:
    """Squashed runs of 2-3 adjacent question words with their character span: "dino v2" -> "dinov2",
    "ponder lm 2" -> "ponderlm2", "bio optimus" -> "biooptimus". A term inside such a run is matched
    when a paper writes the run as one name."""
    raw = list(_RAW.finditer(question))
    out = []
    for n in (2, 3):
        for i in range(len(raw) - n + 1):
            window = raw[i:i + n]
            out.append((squash("".join(m.group() for m in window)), window[0].start(), window[-1].end()))
    return out


def split_spellings(question: str) -> list[str]:
    """Alternative spellings of the question's names for lexical search: glued ones split ("olmo2" ->
    "olmo 2") and split ones glued when they end in a version ("dino v2" -> "dinov2", "ponder lm 2" ->
    "ponderlm2", "codet5 plus" -> "codet5+")."""
    raw = _RAW.findall(question)
    out = []
    for token in raw:
        match = re.fullmatch(r"([A-Za-z]{3,})(\d{1,2}(?:\.\d)?)", token)
        if match and not token.lower().startswith("v"):
            out.append(f"{match.group(1)} {match.group(2)}")
    version = re.compile(r"v?\d{1,2}(?:\.\d)?|plus|\+", re.I)
    for i, token in enumerate(raw):
        if i == 0 or not version.fullmatch(token):
            continue
        for n in (1, 2):
            head = raw[max(0, i - n):i]
            if len(head) == n and not any(fold(h) in _stopwords() or fold(h) in _FRAMING or h.isdigit() for h in head):
                out.append(squash(" ".join([*head, token])))
    return list(dict.fromkeys(out))


class PaperTerms:
    """One paper's title + abstract indexed for exact, normalised matching (built once per paper text)."""

    def __init__(self, title: str, abstract: str) -> None:
        self.title = title
        self.abstract = abstract
        self.sentences = [s for s in _SENTENCE.split(abstract) if s.strip()]
        self.whole = _TextIndex(f"{title}. {abstract}")
        self.title_index = _TextIndex(title)
        self.sentence_indexes = [_TextIndex(f"{title}. {s}") for s in self.sentences] or [self.whole]

    def typed(self, question: str) -> bool:
        ask = parse_ask(question)
        if ask.when and not _DATE.search(self.abstract):
            return False
        if ask.counts and ask.attributes:  # "how many hours of video": a sentence with "hours" and a number
            head = {stem(p) for p in re.split(r"[-/]", fold(ask.attributes[0])) if p}
            return any(head & {stem(w) for w in re.findall(r"[^\W\d_]+", fold(s))} and numbers(s)
                       for s in self.sentences)
        return True

    def introduces(self, name: str) -> bool:
        """The paper introduces ``name``: it is in the title, or a sentence says "we propose/introduce/present ... name"."""
        key = squash(name)
        if key and key in self.title_index.grams:
            return True
        return any(key in _TextIndex(s).grams for s in self.sentences if _INTRODUCES.search(s))


class _TextIndex:
    def __init__(self, text: str) -> None:
        folded = fold(text)
        self.tokens = {t.rstrip(".") for t in _WORD.findall(folded)}
        self.tokens |= {p for t in list(self.tokens) for p in re.split(r"[-/]", t) if len(p) > 1}
        self.stems = {stem(t) for t in self.tokens}
        pieces = [squash(p) for p in _PIECE.findall(re.sub(r"\s*\bplus\b", "+", folded))]
        pieces = [p.strip(".") for p in pieces if p.strip(".")]
        self.grams = {"".join(pieces[i:i + n]) for n in (1, 2, 3) for i in range(len(pieces) - n + 1)}
        self.numbers = numbers(text)
        initials = "".join(w[0] for w in re.findall(r"[a-z0-9]+", folded))
        self.initials = initials

    def has(self, term: Term) -> bool:
        if term.kind == "number":
            return term.value in self.numbers
        folded = fold(term.text).rstrip(".")
        if folded in self.tokens or stem(folded) in self.stems or squash(term.text) in self.grams:
            return True
        parts = [p for p in re.split(r"[-/]", folded) if p]
        if len(parts) > 1 and all(p in self.tokens or stem(p) in self.stems for p in parts):
            return True
        # an acronym spelled out: "EHR" = "electronic health records" (capitals only, 2-6 letters)
        return bool(re.fullmatch(r"[A-Z]{2,6}s?", term.text)) and term.text.rstrip("s").lower() in self.initials


@lru_cache(maxsize=512)
def paper_terms(title: str, abstract: str) -> PaperTerms:
    """Shared, read-only index of one paper text (the same papers come back across questions)."""
    return PaperTerms(title, abstract)


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
        idf = math.log((n_docs - d + 0.5) / (d + 0.5) + 1) if n_docs else 1.0
        return idf * (1.0 if term.kind == "name" else rarity(fold(term.text)))

    papers = [paper_terms(h.title, h.abstract or h.snippet) for h in hits]
    weights = [weight(t) for t in terms]
    total = sum(weights) or 1.0

    def matched(index: _TextIndex) -> list[bool]:
        found = [index.has(t) for t in terms]
        for joined, start, end in runs:  # "dino v2" written "DINOv2" in the paper
            if joined in index.grams:
                found = [f or start <= t.start < end for f, t in zip(found, terms, strict=True)]
        return found

    def share(index: _TextIndex) -> float:
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


def asked_words(question: str) -> list[str]:
    """The asked-for attribute, names included: "What MMLU score does ..." -> MMLU, score; "How many GPUs were
    used" -> GPUs; "which base language model did they" -> base, language, model."""
    for pattern in _ASKS:
        match = pattern.search(question)
        if match:
            words = [m.group().rstrip(".") for m in _TOKEN.finditer(match.group(1))]
            return [w for w in words if w and fold(w) not in _stopwords() and fold(w) not in _FRAMING]
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
    return sum(paper.whole.has(Term(w, "name" if is_namey(w) else "word")) for w in specific) / len(specific)


def _origin(question: str, terms: list[Term], papers: list[PaperTerms]) -> float:
    """0 for an origin question ("who proposed X") when no retrieved paper introduces one of its names."""
    if not _ORIGIN.search(question):
        return 1.0
    runs = [m.group() for m in re.finditer(r"(?<![\w+\-.])[A-Z0-9][\w+\-.]*(?:\s+[A-Z0-9][\w+\-.]*)*", question)]
    runs = [r for r in runs if fold(r.split()[0]) not in _stopwords() or len(r.split()) > 1]
    runs += [t for t in _RAW.findall(question) if t.islower() and is_namey(t)]  # "word2vec", "codet5+"
    names = runs or [t.text for t in terms if t.kind == "name"] or [t.text for t in terms if t.kind == "word"]
    return 1.0 if any(p.introduces(n) for p in papers for n in names) else 0.0


def _corrected(word: str, fixes: set[str]) -> bool:
    """A misspelling that BM25's spelling correction mapped to a corpus word (compare by stem prefix)."""
    import difflib

    w = fold(word)
    return any(difflib.SequenceMatcher(None, w, f).ratio() >= 0.8 for f in fixes)
