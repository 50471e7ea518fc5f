"""A question's specific terms, and their exact match in a paper's title and abstract.

The answerability signals (:mod:`rag.signals`) count which of a question's numbers, names and content
words each retrieved paper holds. Matching is lexical and exact after normalisation (no word vectors,
so "Thai" never matches "Korean"): case and accents fold; names compare with hyphens, spaces and "plus"/"+" squashed away
("CodeT5 plus" = "CodeT5+", "OLMo-2" = "olmo2" = "OLMo 2"); numbers compare by value ("53k" =
"53,000", "ten" = "10", "1.5T" = "1.5 trillion", "3 percent" = "3%"); other words by stem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rag.answerable import _DATE, _VERB, parse_ask
from rag.text import (
    ALNUM_RUN,
    LETTER_RUN,
    SPELLING_TOKEN,
    TERM_TOKEN,
    VERSION_WORD,
    fold,
    looks_like_name,
    sentences,
    squash,
    stem,
    stopwords,
)

#: Words that frame a question about papers rather than say what it is about ("according to the abstract,
#: summarize the main idea"): never terms. Only task vocabulary belongs here, no topic word.
FRAMING = frozenset({
    "abstract", "abstracts", "according", "article", "authors", "describe", "described", "describes", "explain",
    "idea", "ideas", "list", "main", "mention", "mentioned", "mentions", "overview", "summarise", "summarize",
    "summary", "tell", "vs", "versus", "e.g", "i.e", "etc",
})
#: Chat words that are no topic ("has anyone done X", "X or whatever"): a refusal never names them as missing.
#: They stay terms for the gate: taking them out was measured on train and gained nothing (one refusal less).
CHAT_WORDS = frozenset({"anyone", "anybody", "someone", "somebody", "anything", "something", "everything", "whatever",
                        "pls", "please", "thanks", "thx", "hey", "ish", "btw", "tbh", "imo", "iirc"})

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12, "double": 2, "twice": 2, "half": 50,
}
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
          "t": 1e12, "trillion": 1e12}
# A number not glued to a name on either side ("GPT-4", "v2", "WMT24", "360Zhinao", "3D" are names), with an
# optional scale or unit word.
_NUMBER = re.compile(
    r"(?<![A-Za-z_\-.\d])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:(?:\s?|-(?=(?:thousand|million|billion|"
    r"trillion|percent)\b))(thousand|million|billion|trillion|percent|bn|mn|[kmbt](?![a-z])|%|x(?![a-z])|×))?"
    r"(?![a-z\d]|\.\d)", re.I)
# "ten", "twelve-billion", "thirty billion": a scale word after a number word scales it, hyphenated or not
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")(?:[\s-](thousand|million|billion|trillion))?\b", re.I)
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")
#: "what kind / type / sort of X": framing words, not something an abstract must mention.
_KIND_OF = re.compile(r"\b(?:kinds?|types?|sorts?)\s+of\b", re.I)
#: "papers in the collection", "ones in your corpus", "what does the corpus say": the index itself, not a topic
#: (while "how many tokens are in the corpus" asks about a paper's corpus and keeps the word).
_THE_INDEX = re.compile(r"\b(?:papers|works|studies|articles|abstracts|ones|described|mentioned)\s+"
                        r"((?:in|within|from|across) (?:the|this|your|our|my) (?:collection|corpus|index|library))\b"
                        r"|\b((?:the|this|your) (?:collection|corpus|index|library))(?=\s+says?\b)", re.I)


def _mask_index(match: re.Match) -> str:
    group = 1 if match.group(1) else 2
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    text = match.group()
    return text[:start] + " " * (end - start) + text[end:]


#: A name and its version: "OLMo 2", "GPT-4", "qwen 2.5", "CodeT5 plus", "codet5-plus" (not "1.5-Pints": that 1.5
#: is Pints'); one term, so "GPT-4" is never matched by any "GPT".
_VERSIONED = re.compile(r"([^\W_][\w+.\-]*?)(?:\s+|-(?=plus\b|\d))(\d{1,2}(?:\.\d)?|plus)(?!\.\d)(?!-\w)\b", re.I)
_PLUS_JOINED = re.compile(r"(?<=[a-z]{3})\+(?=[a-z]{3})")
_PIECE = re.compile(r"[^\s\-/,;:()\[\]\"'“”‘’]+")


def _number_words(text: str) -> list[re.Match]:
    """The spelled-out numbers of ``text``; "one" only where it counts something ("one epoch"), not where it
    stands for a thing ("which one is", "the portuguese one", "one of the"): a pronoun is no number to match."""
    out = []
    for match in _NUMBER_WORD.finditer(text):
        if match.group(1).lower() == "one":
            following = _NEXT_WORD.match(text, match.end())
            if not following or following.group(1).lower() in stopwords():
                continue
        out.append(match)
    return out


def numbers(text: str) -> set[float]:
    """The values of the numbers ``text`` states, scales applied: "53k", "53,000" and "53 thousand" -> 53000."""
    values: set[float] = set()
    for match in _NUMBER.finditer(text):
        if _glued(text, match.start()):
            continue
        value = float(match.group(1).replace(",", ""))
        unit = (match.group(2) or "").lower()
        values.add(round(value * _SCALE.get(unit, 1.0), 6))
    for match in _number_words(text):
        values.add(_word_value(match))
    return values


def _word_value(match: re.Match) -> float:
    """The value of a spelled-out number match of ``_NUMBER_WORD``, its scale applied."""
    return float(_NUMBER_WORDS[match.group(1).lower()]) * _SCALE.get((match.group(2) or "").lower(), 1.0)


def _glued(text: str, start: int) -> bool:
    """A number after "/" belongs to a name ("ViT-L/14") unless the "/" follows a number ("3.0%/5.2%")."""
    return start >= 2 and text[start - 1] == "/" and not (text[start - 2].isdigit() or text[start - 2] == "%")


def _number_spans(text: str) -> list[tuple[int, int]]:
    return ([m.span() for m in _NUMBER.finditer(text) if not _glued(text, m.start())]
            + [m.span() for m in _number_words(text)])


@dataclass
class Term:
    """One specific term of a question: a name or word (``text``), or a number (``value``)."""

    text: str
    kind: str  # "name" | "word" | "number"
    value: float = 0.0
    start: int = -1  # character offset in the question (for matching split or joined spellings)


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
    for match in _number_words(question):
        value = _word_value(match)
        if all(t.value != value for t in terms):
            terms.append(Term(f"{value:g}", "number", value, match.start()))
    masked = list(question)
    for start, end in spans:
        masked[start:end] = " " * (end - start)
    # "code+language", "real+rewritten": two words joined by "+", not a name like "CodeT5+" or "C++"
    text = _PLUS_JOINED.sub(" ", "".join(masked))
    text = _KIND_OF.sub(lambda m: " " * len(m.group()), text)  # "what kind of text": the thing asked is "text"
    text = _THE_INDEX.sub(_mask_index, text)
    # re-attach "X 2" / "X plus" to their name from the original text
    joined = re.finditer(_VERSIONED.pattern + r"(?!\s*(?:%|percent|[kmbt]\b|billion|million))", question, re.I)
    merged = {m.group(1) for m in joined if not m.group(1).isdigit() and fold(m.group(1)) not in stopwords()}
    merged_terms = {}
    consumed: set[int] = set()  # where the version words of merged names start ("plus" in "Tower plus")
    for m in _VERSIONED.finditer(question):
        if m.group(1) in merged:
            merged_terms[m.group(1)] = m.group(0)
            consumed.add(m.start(2))
    seen: set[str] = set()
    for match in TERM_TOKEN.finditer(text):
        token = match.group().rstrip(".")
        folded = fold(token)
        if (len(folded) < 2 or folded in stopwords() or folded in FRAMING or folded in seen
                or not any(c.isalnum() for c in folded) or match.start() in consumed):
            continue
        seen.add(folded)
        if token in merged_terms:
            terms.append(Term(merged_terms[token], "name", start=match.start()))
        else:
            terms.append(Term(token, "name" if looks_like_name(token) else "word", start=match.start()))
    return terms


def joined_spellings(question: str) -> list[tuple[str, int, int]]:
    """Squashed runs of 2-3 adjacent question words with their character span: "dino v2" -> "dinov2",
    "ponder lm 2" -> "ponderlm2", "bio optimus" -> "biooptimus". A term inside such a run is matched
    when a paper writes the run as one name."""
    raw = list(SPELLING_TOKEN.finditer(question))
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
    raw = SPELLING_TOKEN.findall(question)
    out = []
    for token in raw:
        match = re.fullmatch(r"([A-Za-z]{3,})(\d{1,2}(?:\.\d)?)", token)
        if match and not token.lower().startswith("v"):
            out.append(f"{match.group(1)} {match.group(2)}")
    for i, token in enumerate(raw):
        if i == 0 or not VERSION_WORD.fullmatch(token):
            continue
        for n in (1, 2):
            head = raw[max(0, i - n):i]
            if len(head) == n and not any(fold(h) in stopwords() or fold(h) in FRAMING or h.isdigit() for h in head):
                out.append(squash(" ".join([*head, token])))
    return list(dict.fromkeys(out))


_INTRODUCES = re.compile(r"\b(?:we|this (?:paper|work))\s+(?:\w+\s+)?(?:propose|introduce|present|develop|release)",
                         re.I)


class PaperTerms:
    """One paper's title + abstract indexed for exact, normalised matching (built once per paper text)."""

    def __init__(self, title: str, abstract: str) -> None:
        self.title = title
        self.abstract = abstract
        self.sentences = sentences(abstract)
        self.whole = TextIndex(f"{title}. {abstract}")
        self.title_index = TextIndex(title)
        self.sentence_indexes = [TextIndex(f"{title}. {s}") for s in self.sentences] or [self.whole]

    def typed(self, question: str) -> bool:
        ask = parse_ask(question)
        if ask.when and not _DATE.search(self.abstract):
            return False
        if ask.counts and ask.attributes:  # "how many hours of video": a sentence with "hours" and a number
            head = {stem(p) for p in re.split(r"[-/]", fold(counted_noun(question) or ask.attributes[0])) if p}
            return any(head & {stem(w) for w in LETTER_RUN.findall(fold(s))} and numbers(s)
                       for s in self.sentences)
        return True

    @cached_property
    def lead_index(self) -> TextIndex | None:
        """The name the title leads with, before its colon ("ConvMAE" in "ConvMAE: Masked Convolution ..."),
        indexed; None for a title without one."""
        return TextIndex(self.title.split(":", 1)[0]) if ":" in self.title else None

    def introduces(self, name: str) -> bool:
        """The paper introduces ``name``: its title leads with it (before the colon), or a sentence says "we
        propose/introduce/present ... name"."""
        key = squash(name)
        # the name the title leads with ("ConvMAE: Masked Convolution Meets Masked Autoencoders" introduces
        # ConvMAE, not the masked autoencoders it builds on); a title without one names no method
        if key and self.lead_index is not None and key in self.lead_index.grams:
            return True
        return any(key in TextIndex(s).grams for s in self.sentences if _INTRODUCES.search(s))


class TextIndex:
    """One text's folded tokens, stems, squashed n-grams, numbers and initials: what :meth:`has` matches."""

    def __init__(self, text: str) -> None:
        folded = fold(text)
        self.tokens = {t.rstrip(".") for t in TERM_TOKEN.findall(folded)}
        self.tokens |= {p for t in list(self.tokens) for p in re.split(r"[-/]", t) if len(p) > 1}
        self.stems = {stem(t) for t in self.tokens}
        pieces = [squash(p) for p in _PIECE.findall(re.sub(r"\s*\bplus\b", "+", folded))]
        pieces = [p.strip(".") for p in pieces if p.strip(".")]
        self.grams = {"".join(pieces[i:i + n]) for n in (1, 2, 3) for i in range(len(pieces) - n + 1)}
        self.numbers = numbers(text)
        self.initials = "".join(w[0] for w in ALNUM_RUN.findall(folded))

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
        if re.fullmatch(r"[A-Z]{2,6}s?", term.text) and term.text.rstrip("s").lower() in self.initials:
            return True
        # a clipped word: "arch" = "architecture", "instr" = "instruction", "toks" = "tokens"
        clip = _clipped(folded) if term.kind == "word" and term.text.islower() else ""
        return bool(clip) and any(t.startswith(clip) and len(t) > len(clip) + 1 for t in self.tokens)


#: A clipped word is rare in general English: a Zipf frequency below 4.5 ("toks" 1.5, "vocab" 2.6, "instr" 1.8,
#: "arch" 4.0), unlike everyday words that begin longer ones ("came" 5.5 begins "camera", "art" 5.3).
CLIPPED_ZIPF = 4.5


@lru_cache(maxsize=4096)
def _clipped(word: str) -> str:
    """The stem a chat question's clipped word stands for ("toks" -> "tok", "arch" -> "arch"), or "" for a
    word that is no clipping (too short, not letters, or common in general English). Why: "which model arch"
    was refused because no abstract says "arch"; the abstract says "architecture"."""
    from wordfreq import zipf_frequency

    if not word.isalpha() or not 3 <= len(word) <= 6 or zipf_frequency(word, "en") >= CLIPPED_ZIPF:
        return ""
    clip = word[:-1] if word.endswith("s") and len(word) > 3 else word
    return clip if len(clip) >= 3 else ""


@lru_cache(maxsize=512)
def paper_terms(title: str, abstract: str) -> PaperTerms:
    """Shared, read-only index of one paper text (the same papers come back across questions)."""
    return PaperTerms(title, abstract)


#: Two query words written apart, by a hyphen or a space: "lm-ent", "lm ent", "unitab-e".
_PAIR = re.compile(r"(?=\b(\w+)(?:-|\s+)(\w+)\b)")


def rejoined_names(query: str, known: Callable[[str], bool]) -> list[str]:
    """Names the query splits that the corpus writes as one word: "lm-ent" / "lm ent" -> lment (LMEnt),
    "unitab-e" -> unitabe (UniTabE). ``known(word)``: the corpus vocabulary has the word.

    Only when one of the two parts is no corpus word on its own ("ent"), or a lone letter that the tokenizer
    drops ("e"), and the joined word is one: two ordinary words ("pre-training", "as it", "fine tuned") are
    left as written, since their joined form would vote for every title that uses it. Stop words never join
    ("where in" is not "wherein"). Versions ("dino v2") are glued by rag.terms.split_spellings.
    """
    out = []
    for match in _PAIR.finditer(fold(query)):
        parts = match.group(1), match.group(2)
        if any(p in stopwords() or p.isdigit() for p in parts):
            continue
        unknown = [p for p in parts if (len(p) == 1 and p.isalpha()) or (len(p) > 1 and not known(p))]
        glued = "".join(parts)
        if unknown and known(glued) and glued not in out:
            out.append(glued)
    return out


_COUNTED = re.compile(r"\bhow (?:many|much)\s+((?:[\w+\-.]+\s+){0,5}?[\w+\-.]+?)"
                      rf"(?=\s+(?:of|for|in|on|per|with|from|by|at|to|{_VERB})\b|\s*[?,;]|\s*$)", re.I)


def counted_noun(question: str) -> str:
    """The noun a "how many / how much" question counts: the last word of its noun phrase ("how many
    pretraining tokens did ..." -> tokens, "how many hours of video" -> hours, "how many GPU hours" -> hours)."""
    match = _COUNTED.search(question)
    return match.group(1).split()[-1] if match else ""
