"""Guess the language of a question from its script and stopwords (no model, no network).

The indexed abstracts are English. A question in another language still retrieves (titles, names and
technical terms are shared), but the extractive and small local answerers can only quote English, so
the user must be told; an OpenAI-compatible model is asked to answer in the question's language.
Short or mixed questions default to English: a wrong "not English" notice is worse than none.
"""

from __future__ import annotations

from rag.text import LETTER_RUN


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Frequent function words per language; technical words are shared across languages, these are not.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words("the a an of and or to in on for with is are was were what which how does do why who this that "
                    "these it its be by from as can about paper papers there their than"),
    "es": _words("el la los las de del que y en un una por para con es son qué cómo cuál cuáles se su sus "
                    "lo al como más pero este esta estos sobre entre según puede"),
    "fr": _words("le la les des du de et en un une est sont que qui quoi comment quel quelle quels pour avec "
                    "dans sur par ce cette ces au aux se ne pas plus leur selon"),
    "de": _words("der die das den dem des und ist sind ein eine einer wie was welche welcher warum mit für "
                    "von zu im auf nicht auch es sich dass oder bei über"),
    "it": _words("il lo la gli le di del della che e è sono un una per con come quale quali perché nel "
                    "nella dei delle su tra anche questo questa"),
    "pt": _words("o a os as de do da dos das que e é são um uma para com como qual quais por que no na "
                    "em se sobre mais isso este esta"),
    "nl": _words("de het een en van is zijn wat hoe welke waarom met voor op in dat die niet ook"),
}

NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
         "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "ar": "Arabic",
         "el": "Greek", "he": "Hebrew", "hi": "Hindi", "uk": "Ukrainian"}

#: (language, first code point, last code point) of scripts that identify a language (or a family).
_SCRIPTS = [("ja", 0x3040, 0x30FF), ("ko", 0xAC00, 0xD7AF), ("zh", 0x4E00, 0x9FFF), ("ru", 0x0400, 0x04FF),
            ("ar", 0x0600, 0x06FF), ("el", 0x0370, 0x03FF), ("he", 0x0590, 0x05FF), ("hi", 0x0900, 0x097F)]
_ACCENTS = {"es": "ñ¿¡", "de": "ßäöü", "pt": "ãõ", "fr": "çœ"}


def detect_language(text: str) -> str:
    """An ISO 639-1 code: the script's language for non-Latin text, else the best stopword match ("en" on ties)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    for lang, lo, hi in _SCRIPTS:
        if sum(lo <= ord(ch) <= hi for ch in letters) >= max(2, len(letters) * 0.3):
            if lang == "ru" and any(ch in "іїєґ" for ch in text.lower()):
                return "uk"
            if lang == "zh" and any(0x3040 <= ord(ch) <= 0x30FF for ch in text):
                return "ja"
            return lang
    words = [w.lower() for w in LETTER_RUN.findall(text)]
    scores = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    for lang, marks in _ACCENTS.items():
        scores[lang] += sum(ch in marks for ch in text.lower())
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 and scores[best] > scores["en"] else "en"


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def english_only_notice(code: str) -> str:
    """What a user who asked in another language is told when the answerer can only quote English."""
    return (f"Your question looks {language_name(code)}; the indexed abstracts are in English, so this answer "
            "quotes them in English. Configure an OpenAI-compatible model (OPENAI_API_KEY) for answers in "
            f"{language_name(code)}.")
