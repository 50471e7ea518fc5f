"""Text helpers every layer shares: folding, stems, stopwords, word tokens, the "is this a name" rules,
sentences and title normalisation.

Why one module: these ideas were written several times over, each copy with small differences of its
own. The differences that change results are kept, under their own names or as a parameter, so the
choice is visible in one place; nothing here depends on the rest of the package.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

# --- folding and stems ---------------------------------------------------------------------------------


def fold(text: str, times_as_x: bool = True) -> str:
    """Casefold and strip accents ("Sabiá" -> "sabia", "TÜLU" -> "tulu"); "×" -> "x" unless
    ``times_as_x`` is off, when it goes like any other non-ASCII sign (question-shape cues)."""
    if times_as_x:
        text = text.replace("×", "x")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the stemmer llama-index's BM25 retriever uses, so stems agree with the IDF table

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return _stemmer().stemWord(word.casefold())


# --- stopwords -----------------------------------------------------------------------------------------

#: Words that say what kind of thing a question wants, not which one; never specific terms.
QUESTION_WORDS = frozenset({
    "how", "many", "much", "what", "which", "who", "when", "paper", "papers", "work", "works", "study", "studies",
    "use", "used", "using",
})

#: A short list for spotting the names a question uses in evidence sentences: function words and the
#: words questions use to talk about papers and comparisons ("model", "versus", "tell me").
_NAME_STOPWORDS = """a an the of for on in to and or with by from at as is are was were be been does do did
what which who how why when where this that these those it its their there here paper papers work works study studies
model models about between vs versus compare comparison difference differ each both any all corpus collection tell me
please"""
NAME_STOPWORDS = frozenset(_NAME_STOPWORDS.split())


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stopwords (bundled with llama-index) and :data:`QUESTION_WORDS`.

    The list is read from llama-index's bundled NLTK data file, the one its ``globals_helper`` reads:
    importing ``llama_index.core`` for it loaded about 2,200 modules (4 s, 150 MB of resident memory)
    into a search process on the first query that needed the list.
    """
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            words = (Path(folder) / "_static" / "nltk_cache" / "corpora" / "stopwords" / "english").read_text("utf-8")
        except OSError:
            continue
        return frozenset(words.split()) | QUESTION_WORDS
    from llama_index.core.utils import globals_helper  # another layout of the package: ask it

    return frozenset(globals_helper.stopwords) | QUESTION_WORDS


# --- word tokens ---------------------------------------------------------------------------------------


def _word(inner: str) -> re.Pattern[str]:
    """Words of any script that start with a letter or digit, end with one or "+" ("CodeT5+"), and may
    hold the ``inner`` characters in between."""
    return re.compile(rf"[^\W_][\w{inner}]*[\w+]|[^\W_]")


#: Everything a name may hold: "GPT-4", "pass@1", "CodeT5+", "v1.5", "8×A100" (what a question names).
NAME_TOKEN = _word(r"+@.×\-")
#: Hyphenated words whole, without "@" or "×": the words of a follow-up's frame and slot.
PHRASE_TOKEN = _word(r"+\-.")
#: Hyphens split ("CLIP-style" is two words), "pass@1" and "v1.5" whole: the terms of an exact match.
TERM_TOKEN = _word(r"+@.")
#: Only "+" and "." inside: adjacent words for the joined spellings of a name ("dino v2" -> "dinov2").
SPELLING_TOKEN = _word(r"+.")
#: Letter and digit runs of folded (lowercase ASCII) text.
ALNUM_RUN = re.compile(r"[a-z0-9]+")
#: Letter runs of any script (no digits).
LETTER_RUN = re.compile(r"[^\W\d_]+")
_LOWER_WORD = re.compile(r"[a-z0-9][a-z0-9+\-.]*")  # "codet5+", "v1.5", "pre-training"
_COMPOUND_WORD = re.compile(r"[a-z0-9][a-z0-9\-+]*")  # the same without "."


def name_words(text: str) -> set[str]:
    """The lowercase words of ``text`` without :data:`NAME_STOPWORDS` or a trailing "." or "-"."""
    return {w.rstrip(".-") for w in _LOWER_WORD.findall(text.casefold())} - NAME_STOPWORDS


def compound_words(text: str) -> list[str]:
    """Folded words with hyphens inside compounds dropped ("pre-training" = "pretraining")."""
    return [w.replace("-", "") for w in _COMPOUND_WORD.findall(fold(text))]


# --- names ---------------------------------------------------------------------------------------------


def is_name(token: str, first: bool = False, min_length: int = 2) -> bool:
    """A digit, an inner capital, or all capitals; a capitalised word only when it is not the ``first``
    of its sentence. Shorter tokens than ``min_length`` are never names."""
    if len(token) < min_length:
        return False
    return (any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:])
            or (not first and token[0].isupper()))


def is_identifier(token: str) -> bool:
    """A name that identifies something: a part with a digit, an inner capital or all capitals
    ("GPT-4", "CLIP-style", "WMT24", "MosaicBERT"), unlike "Chinchilla" or "non-English"."""
    return any(len(p) > 0 and (any(c.isdigit() for c in p) or any(c.isupper() for c in p[1:])
                               or (len(p) > 1 and p.isupper()))
               for p in token.split("-"))


def looks_like_name(token: str) -> bool:
    """A digit, "+", "@", an inner capital, or all capitals: "GPT-4", "CodeT5+", "pass@1", "MosaicBERT",
    "GLUE". Unlike :func:`is_name`, a capitalised word is never a name here, wherever it stands."""
    return (any(c.isdigit() or c in "+@" for c in token) or any(c.isupper() for c in token[1:])
            or (len(token) > 1 and token.isupper()))


# --- sentences -----------------------------------------------------------------------------------------

_QUOTABLE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MARKED_SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+")
_MARKERS = re.compile(r"\s*\[\d+\]")


def split_sentences(text: str) -> list[str]:
    """An abstract's sentences worth quoting: a stop followed by a capital, digit, bracket or quote
    ends one ("e.g. the" does not), and pieces of 20 characters or fewer are dropped."""
    return [s.strip() for s in _QUOTABLE_END.split(text) if len(s.strip()) > 20]


def sentences(text: str, after_marker: bool = False) -> list[str]:
    """The non-blank pieces of ``text`` between a stop and whitespace (unstripped); with ``after_marker``
    a citation marker's closing bracket ends a piece too ("... [1] Next")."""
    pattern = _MARKED_SENTENCE_END if after_marker else _SENTENCE_END
    return [s for s in pattern.split(text) if s.strip()]


def at_sentence_start(text: str, at: int) -> bool:
    """True at the start of the text or of a sentence in it ("... about? What results ...")."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".?!:;\"'("


def strip_markers(text: str) -> str:
    """``text`` without its [n] citation markers (and the spaces before them)."""
    return _MARKERS.sub("", text)


# --- titles and LaTeX remnants -------------------------------------------------------------------------
# Scraped arXiv listings hold LaTeX remnants such as ``T\"ULU`` or ``71\%``: they must read ``TÜLU`` /
# ``71%`` for display, and titles must compare equal across listings whatever their case, punctuation or
# escapes (the dedupe key and the evaluation's title matcher).

_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303"}
_LATEX_ACCENT = re.compile(r"""\\(["'`^~])\{?([A-Za-z])\}?""")
_LATEX_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|emph|url|mathrm|mathbf)\{([^{}]*)\}")
_LATEX_SYMBOLS = {r"\times": "×", r"\approx": "≈", r"\sim": "~", r"\pm": "±", r"\leq": "≤", r"\geq": "≥"}
_LATEX_ESCAPED = re.compile(r"\\([%&_#$])")
_LATEX_MATH_DELIMS = re.compile(r"\\[()\[\]]")
_BRACED_LETTERS = re.compile(r"\{([A-Za-z]{1,3})\}")  # {D}en{o}ising: BibTeX case protection
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def clean_latex(text: str) -> str:
    """Turn the LaTeX remnants found in scraped abstracts into plain Unicode text."""
    text = _BRACED_LETTERS.sub(r"\1", text)
    if "\\" not in text:
        return text
    text = _LATEX_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)]), text)
    text = _LATEX_WRAPPERS.sub(r"\1", text)
    for macro, symbol in _LATEX_SYMBOLS.items():
        text = re.sub(re.escape(macro) + r"(?![A-Za-z])", symbol, text)
    text = _LATEX_ESCAPED.sub(r"\1", text)
    return _LATEX_MATH_DELIMS.sub("", text)


def clean_text(text: str) -> str:
    """Collapse whitespace and strip LaTeX remnants (what we display and embed)."""
    return _SPACES.sub(" ", clean_latex(text)).strip()


def normalize_words(text: str) -> str:
    """Lowercase ASCII words separated by one space: case, accents and punctuation folded away
    ("2.5x" -> "2 5x")."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def normalize_title(title: str) -> str:
    """Comparison key for titles: :func:`normalize_words` after LaTeX remnants are cleaned."""
    return normalize_words(clean_latex(title))


def squash(text: str) -> str:
    """Fold a name to compare its spellings: "CodeT5 plus" / "codet5+" / "OLMo-2" / "olmo 2" -> "codet5+" / "olmo2"."""
    text = re.sub(r"\s*\bplus\b", "+", fold(text))
    return re.sub(r"[\s\-_'’.]+", "", text)


#: A version written as its own word after a name: "v2", "2", "3.5", "plus", "+" ("dino v2", "codet5 plus").
VERSION_WORD = re.compile(r"v?\d{1,2}(?:\.\d)?|plus|\+", re.I)
