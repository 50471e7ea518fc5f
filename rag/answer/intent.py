"""What a question asks for: the answer *shape* the composer (rag.answer.compose) builds.

Chat questions are short, lowercase and often misspelled ("whcih papers do X", "codet5 plus paper",
"compare sabia vs ptt5"), so the rules are word cues on a folded copy of the question, tolerant of
common typos, checked in a fixed order (the first that matches wins):

* ``list``: "which papers …", "list …", "any papers on …", "are there … in here": every relevant paper.
* ``compare``: "compare", "vs", "versus", "differ", "difference between": one block per named paper.
* ``summary``: "summarize X", "main idea of X", "what does the X paper propose": one paper, its gist.
* ``overview``: "what does the corpus say about", "overview", "tell me about <topic>": papers grouped.
* ``yesno``: "does / is / can … ?": the sentence that decides it.
* ``fact``: "how many", "what score / size / accuracy …", "when": the sentence holding the value.
* ``lookup``: "what is X", "define X", or a bare name ("hubert paper"): the defining sentence.
* ``general``: anything else (a described method, a paraphrase): the best evidence sentences.

Why rules and not a model: no classifier ships with the project, the cues are few and stable, and a
wrong guess only changes the answer's shape (every shape quotes verbatim, cited evidence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.text import fold

LIST, COMPARE, SUMMARY, OVERVIEW, YESNO, FACT, LOOKUP, GENERAL = (
    "list", "compare", "summary", "overview", "yesno", "fact", "lookup", "general")
KINDS = (LIST, COMPARE, SUMMARY, OVERVIEW, YESNO, FACT, LOOKUP, GENERAL)

# Typos seen in chat questions, folded to the word the rules look for.
_TYPOS = {
    "whcih": "which", "wich": "which", "whihc": "which", "whch": "which", "wihch": "which", "whic": "which",
    "paper's": "papers", "papres": "papers", "pappers": "papers", "paers": "papers", "papaers": "papers",
    "comapre": "compare", "compair": "compare", "copmare": "compare", "compre": "compare", "vs.": "vs",
    "summarise": "summarize", "sumarize": "summarize", "summarize:": "summarize", "summerize": "summarize",
    "summery": "summary", "overveiw": "overview", "defin": "define", "waht": "what", "wat": "what",
    "whats": "what is", "what's": "what is", "hw": "how", "diffrence": "difference", "differnce": "difference",
}
_PLURAL_WORKS = r"(?:papers|works|studies|articles|publications|ones)"
_PLURAL_THINGS = r"(?:approaches|methods|models|datasets|efforts|llms|benchmarks|toolkits)"
_LIST = [
    re.compile(rf"\b(?:which|what|list|name|show|find|any|all|every|other)\b(?:\s+\S+){{0,3}}?\s+{_PLURAL_WORKS}\b"),
    # "which models …" lists; "what approaches exist for …" usually describes one paper (a paraphrase)
    re.compile(rf"\b(?:which|list|any|all|every)\s+(?:\S+\s+)?{_PLURAL_THINGS}\b(?! (?:does|did|is|was)\b)"),
    re.compile(r"^\s*(?:list|enumerate|name all|show all|find all)\b"),
    re.compile(r"\blist (?:all|every|the)\b|\blist them\b|\ball of them\b"),
    re.compile(r"\b(?:are there|has anyone|have any|any other)\b.*\b(?:papers|works|here|corpus|collection|studies)\b"),
    rf"\b{_PLURAL_WORKS} (?:on|about|that|which|for|in|using|proposing|studying)\b.*\?\s*$",
    re.compile(r"\bwhich ones\b|\bwhat are (?:some|the) (?:papers|works|approaches|methods)\b|\bwhat work is there\b"),
]
_COMPARE = re.compile(r"\bcompare[ds]?\b|\bcomparison\b|\bcomparing\b|\bvs\b|\bversus\b|\bdiffer(?:s|ent|ence|ences)?\b"
                      r"|\bcontrast\b|\bsimilarit(?:y|ies)\b between\b")
_SUMMARY = re.compile(r"\bsummar(?:ize|y|ies)\b|\btl;?dr\b|\bmain (?:idea|point|contribution|claim|finding)s?\b"
                      r"|\bkey (?:idea|contribution|finding|takeaway)s?\b|\bgist\b|\bwhat does (?:the )?.+ paper"
                      r" (?:propose|do|say|show|introduce|claim|find)\b|\babstract of\b|\bhighlights\b"
                      r"|^\s*what (?:does|did) (?:the )?[^?]{3,80} (?:propose|introduce)\s*\??\s*$")
_OVERVIEW = re.compile(r"\boverview\b|\bwhat (?:does|do) (?:the )?(?:corpus|collection|papers|literature|abstracts)"
                       r" (?:say|tell|show)\b|\btell me (?:about|more about)\b|\bsurvey(?:ing)?\b|\bstate of\b"
                       r"|\bwhat is known about\b|\bwhat do we know about\b|\blandscape\b|\btrends? in\b")
#: Auxiliaries that open a question ("does it …", "can we …").
_AUX = "does|do|did|is|are|was|were|can|could|has|have|will|would|should"
_YESNO = re.compile(rf"(?:^\s*(?:so |and |but |also )?|^[^?]{{0,60}}, )(?:{_AUX}|had|shall|may|might)\b")
#: "how many / how long ...": a quantity. "What <measure>" asks for a value; "which <thing>" for a name.
_HOW_MUCH = "many|much|long|large|big|fast"
_MEASURE = ("score|accuracy|size|number|percentage|rate|count|ratio|speedup|parameters|params|tokens|wer|bleu|f1"
            "|perplexity|loss|budget|improvement|gain|top-1|resolution|batch size|learning rate")
_FACT_THING = ("length|cost|dataset|datasets|benchmark|benchmarks|gpus?|hardware|vocabulary|language|languages|model"
               "|architecture|metric|data")
_NAMED_THING = "dataset|benchmark|model|metric|language|architecture|optimizer|corpus|tokenizer|baseline"
_FACT = re.compile(rf"\bhow (?:{_HOW_MUCH}|often|well)\b|\bwhen\b|\bwhat year\b|\bwhich year\b"
                   rf"|\bwhat (?:\S+ ){{0,3}}(?:{_MEASURE}|{_FACT_THING})\b|\bwhich (?:\S+ ){{0,2}}(?:{_NAMED_THING})s?\b"
                   r"|\bhow .*\bcompare\b|\bby how much\b|\bwhat (?:was|were|is|are) the (?:results?|numbers?|scores?)\b")
_NUMBER_CUE = re.compile(rf"\bhow (?:{_HOW_MUCH})\b|\bwhat (?:\S+ ){{0,3}}(?:{_MEASURE})\b|\bby how much\b"
                         r"|\bwhen\b|\bwhat year\b|\bresults?\b|\bnumbers?\b")
_LOOKUP = re.compile(r"^\s*(?:what|who) (?:is|are|was|were)\s+(?!the\b)|^\s*define\b"
                     r"|^\s*explain\b|\bwhat is meant by\b|\bdefinition of\b|\bwhat does \S+ stand for\b"
                     r"|^\s*(?:tell me )?(?:about )?(?:the )?\S+ (?:paper|model|report|framework|method)\s*\??\s*$")
_QUESTION_START = re.compile(rf"^\s*(?:what|which|who|whom|whose|how|why|when|where|{_AUX}|list|compare|summar|explain"
                             r"|describe|tell|give|show|find|name|define|overview|any)\b")
# Terse fact questions without a question word ("mathcode-pile size in tokens", "mofi map on gpr1200").
_TERSE_FACT = re.compile(r"\b(?:count|size|sizes|acc|accuracy|map|throughput|rate|tokens|num|number|params?|parameters"
                         r"|score|scores|gain|top-?1|wer|bleu|f1|images|hours|speedup|mix|ratio|percent|how many"
                         r"|before|after)\b|#|%|->")


@dataclass
class Intent:
    """The answer shape (``kind``) and what the composer needs to know to build it."""

    kind: str
    wants_number: bool = False  # the answer is a value: prefer sentences with digits
    targets: list[str] = field(default_factory=list)  # compare: the phrases that name each side


def _cue_text(question: str) -> str:
    """The question as the cue rules read it: lowercase, accents (and "×") stripped, known typos fixed,
    spaces squeezed."""
    return " ".join(_TYPOS.get(w, w) for w in fold(question, times_as_x=False).split())


_QUOTED = re.compile(r"(?:^|(?<=[\s(]))['‘“\"](.{3,120}?)['’”\"](?=[\s,.:;?)]|$)")


def compare_targets(question: str) -> list[str]:
    """The sides of a comparison: "X vs Y", "compare X and Y", "how do X and Y differ", "X, Y and Z".

    A quoted title is one side whatever it contains ("'Pretraining Language Models with Human Preferences'");
    "with" / "to" separate sides only right after "compare X" ("compare MosaicBERT with …")."""
    quoted = [q.strip() for q in _QUOTED.findall(question)]
    if quoted:
        question = _QUOTED.sub(" QUOTED ", question)
    text = re.sub(r"[?!.]+\s*$", "", question.strip())
    text = re.sub(r"(?i)^(\s*(?:please\s+)?(?:compare|contrast|comparing)\s+\S+(?:\s+\S+)?)\s+(?:with|to)\s+", r"\1 vs ",
                  text)
    text = re.sub(r"(?i)^\s*(?:please\s+)?(?:compare|contrast|comparison of|comparing)\s+", "", text)
    text = re.sub(r"(?i)^\s*how (?:do|does|did|are|is)\s+(?:the\s+)?", "", text)
    text = re.sub(r"(?i)^\s*what(?:'s| is| are) the differences? between\s+", "", text)
    text = re.split(r"(?i)\s*(?::|—|–| - |\bdiffer\b|\bin (?:terms of|how|what)\b|\bregarding\b|\bon (?:how|what|when)\b"
                    r"|\bwhen it comes to\b|\bwith respect to\b|\bin their\b)", text)[0]
    parts = re.split(r"(?i)\s*(?:\bvs\.?\b|\bversus\b|\band\b|,|&)\s*", text)
    parts = [p.strip(" '\"‘’“”()") for p in parts]
    parts = [p for p in parts if p and len(p) > 1 and p.lower() not in {"the", "both", "each", "them"}]
    if quoted:  # put the quoted titles back where they were
        queue = iter(quoted)
        parts = [re.sub(r"QUOTED", lambda _: next(queue, ""), p).strip() for p in parts]
        parts = [p for p in parts if p]
    return parts


def detect(question: str) -> Intent:
    """The answer shape for ``question`` (see the module docstring for the order of the rules)."""
    q = _cue_text(question)
    wants_number = bool(_NUMBER_CUE.search(q))
    if any((re.search(p, q) if isinstance(p, str) else p.search(q)) for p in _LIST) and not re.search(
            r"\bwhat (?:does|did) (?:the )?(?:\S+ ){1,6}(?:paper|work|study)\b", q):
        return Intent(LIST, wants_number)
    # "how much does X improve compared with raw data" asks for a value, not a comparison of papers
    value_first = wants_number and not re.match(r"\s*(?:compare|comparison|contrast|comparing|how do(?:es)? .{3,60}"
                                                r" differ)\b", q)
    if _COMPARE.search(q) and not value_first and not re.search(
            r"\bcompared? (?:to|with) (?:the )?(?:baselines?|prior|previous|existing)\b", q):
        targets = compare_targets(question)
        # "X vs Y" needs two sides; "... score before vs after" compares values inside one paper
        if len(targets) >= 2 or re.search(r"\bcompare\b", q):
            return Intent(COMPARE, wants_number, targets)
    if _SUMMARY.search(q):
        return Intent(SUMMARY, wants_number)
    if _OVERVIEW.search(q):
        return Intent(OVERVIEW, wants_number)
    if _FACT.search(q) and not _YESNO.search(q):
        return Intent(FACT, True)
    if _YESNO.search(q):
        return Intent(YESNO, wants_number)
    if _LOOKUP.search(q):
        return Intent(LOOKUP, wants_number)
    if not _QUESTION_START.search(q) and len(q.split()) <= 12 and "?" not in q:
        if _TERSE_FACT.search(q):
            return Intent(FACT, True)
        return Intent(LOOKUP, False)  # a bare name or title fragment: "codet5 plus paper", "swin umamba"
    return Intent(GENERAL, wants_number)
