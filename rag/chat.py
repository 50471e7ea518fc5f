"""Follow-up condensation: turn a follow-up into the standalone question that retrieval searches for.

A follow-up is one of three kinds, and each needs a different standalone question:

* **anaphor** ("what hardware was it trained on?", "their 7B model", "the authors"): the pronoun means
  the paper the previous answer *cited*, so the paper's name and title replace it. The previous
  question's words are not reused: they retrieve the previous answer again.
* **ellipsis** ("And for Nepali?", "What about galaxies?", "same for legal text?"): the previous
  question's frame ("Which paper presents a language model for Swedish?") with the new slot in place
  of the old one, and the previously cited paper excluded unless the new slot fits it too.
* **self-contained** ("Which paper argues that ...?", "Is there another study on ...?"): the history
  is dropped. Relative pronouns ("papers that show", "the one which") and dummy "it" ("makes it
  easier") do not make a question a follow-up: when the question's own terms are covered much better
  by the paper it retrieves alone than by the previously cited paper, it stands alone.

The rule is deterministic and needs only the index (BM25 IDF and one extra search per follow-up). With
an LLM (openai/local modes) the model rewrites anaphors and ellipses, and the rewrite is used only when
its retrieval is at least as good as the rule's (see :func:`condense`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.types import Hit

#: Pronouns and definite descriptions that refer back to a paper. "that"/"which" alone are not here:
#: they are mostly relative pronouns ("papers that show ...").
_ANAPHOR = re.compile(
    r"\b(?:(?:that|this|these|those|the same|said|their|its)\s+(?:paper|papers|model|models|method|methods|approach|"
    r"work|study|system|framework|technique|architecture|version|benchmark|corpus|dataset)"
    r"|the authors?|the paper|the method|the approach|the study|the work|this work"
    r"|it|its|it's|they|them|their|theirs|he|she)\b", re.I)
#: "this"/"that" used as a pronoun after a verb or preposition ("how does that compare?").
_DEMONSTRATIVE = re.compile(r"\b(?:does|did|do|is|was|are|were|about|of|from|with|on|in)\s+(?:this|that)\s*(?:\?|$)",
                            re.I)
#: Questions that ask for a (new) paper: they stand alone even when they contain "it" or "one".
_SEEKS_PAPER = re.compile(
    r"\b(?:which|what|any|another|other|different)\s+(?:paper|papers|work|works|study|studies|article|one)\b"
    r"|\bis there\b|\bare there\b|\bswitching to\b|\bdifferent topic\b|\bwhich\b(?:\s+[\w+\-]+){1,4}\s+is it\b"
    r"|\bthe (?:one|paper|work|study) (?:that|which|where|with|about|on)\b",
    re.I)
#: ... and those that want a paper other than the one just cited.
_ANOTHER = re.compile(r"\b(?:another|other|different|else)\b", re.I)
#: Lead-ins of an elliptical follow-up; the rest is the new slot.
_ELLIPSIS_LEAD = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|so|and|or|also|then|now)[,\s]+)*(?:what|how)\s+about\b\s*|"
    r"^\s*(?:(?:ok(?:ay)?|so|and|or|also|then|now)[,\s]+)*(?:the\s+)?same\s+(?:for|with|in|on)\b\s*|"
    r"^\s*(?:ok(?:ay)?[,\s]+)?(?:and|or)\b\s*(?=(?:one\s+|a\s+paper\s+|the\s+same\s+)?(?:for|with|in|on|about|to)\b)",
    re.I)
_CONTINUES = re.compile(r"^\s*(?:(?:ok(?:ay)?|so|and|also|then|now|thanks|nice|great|interesting)\b[,.!\s]*)+", re.I)
_WH = re.compile(r"^\s*(?:which|what|who|whom|whose|when|where|why|how|is|are|does|do|did|can|could|was|were|has|"
                 r"have|list|name|describe|explain|tell|give|show)\b", re.I)
_WORD = re.compile(r"[^\W_][\w+\-.]*[\w+]|[^\W_]", re.UNICODE)
_LEADING_PREP = re.compile(r"^(?:(?:one|a\s+paper|the\s+same)\s+)?(?:for|with|in|on|about|to)\s+", re.I)
_TRAILING_FILLER = re.compile(r"(?:\s+(?:instead|too|as well|then))+\s*$", re.I)
_DANGLING = re.compile(r"(?:\s+(?:for|to|on|in|of|with|from|by|at|a|an|the|and|or))+\s*$", re.I)

#: A short or "and ..." follow-up without a pronoun ("grokking in LLM pretraining?", "and which
#: dataset?") stands alone when the paper it retrieves by itself covers its content words (IDF-weighted)
#: this much better than the previously cited paper does. (With a pronoun, only new names count: a
#: follow-up like "what hardware was it trained on?" asks for what the old paper may not spell out.)
SWITCH_MARGIN_IMPLICIT = 0.2
#: Frame words at least this rare (BM25 IDF; about 20 of 410 abstracts) that the previous paper holds
#: are its slot: "Swedish" in "a language model for Swedish" is replaced by the ellipsis's new slot.
SLOT_IDF = 2.5
#: Follow-ups up to this many words that are no question ("food image segmentation?") are ellipses
#: when the previous question asked for a paper.
FRAGMENT_WORDS = 6


@dataclass
class Turn:
    """One answered turn, as the next follow-up needs it."""

    question: str
    standalone: str = ""  # what retrieval searched for
    answer: str = ""
    cited: list[str] = field(default_factory=list)  # titles of the papers the answer cited, in [n] order
    papers: list[Hit] = field(default_factory=list)  # those papers (title + abstract), when known
    frame: str = ""  # the standalone question without the appended title, for an ellipsis to reuse
    kind: str = "new"

    def __post_init__(self) -> None:
        self.standalone = self.standalone or self.question
        self.frame = self.frame or self.standalone


@dataclass
class Plan:
    """How to answer a question in its conversation: what to search for, and what to keep out."""

    standalone: str  # the query used for retrieval (shown to the user as "searched for")
    kind: str = "new"  # new | anaphor | ellipsis | switch
    focus: str = ""  # anaphors: the question with the paper's name for the pronoun (without the title)
    ask: str = ""  # anaphors: what the evidence sentence must answer (the follow-up as typed)
    about: list[str] = field(default_factory=list)  # anaphor: the titles the pronoun stands for
    exclude: list[str] = field(default_factory=list)  # titles not to retrieve (ellipsis: the previous paper)

    @property
    def frame(self) -> str:
        return self.focus or self.standalone


# --- classification ---------------------------------------------------------------------------------

def has_anaphor(question: str) -> bool:
    return bool(_ANAPHOR.search(question) or _DEMONSTRATIVE.search(question))


def seeks_paper(question: str) -> bool:
    return bool(_SEEKS_PAPER.search(question))


def ellipsis_slot(question: str, previous: Turn) -> str | None:
    """The new slot of an elliptical follow-up ("And for Nepali?" -> "for Nepali"), or None.

    An explicit lead-in ("and for", "what about", "same for") makes an ellipsis; so does a short
    fragment that is no question ("food image segmentation?") after a question that asked for a paper.
    "and which dataset?" is no ellipsis: it asks a new question about the same paper.
    """
    text = question.strip()
    lead = _ELLIPSIS_LEAD.match(text)
    if lead:
        rest = text[lead.end():]
        if _WH.match(rest) and not rest.lower().startswith(("what about", "how about")):
            return None
    elif (len(_WORD.findall(text)) <= FRAGMENT_WORDS and not _WH.match(_CONTINUES.sub("", text))
          and not has_anaphor(text) and seeks_paper(previous.frame)):
        rest = _CONTINUES.sub("", text)
    else:
        return None
    slot = _TRAILING_FILLER.sub("", rest.strip().rstrip("?.! ").strip(" ,"))
    return slot or None


def _words(text: str) -> list[str]:
    from rag.answerable import _stopwords, fold

    return [w for w in (m.group().rstrip(".") for m in _WORD.finditer(fold(text)))
            if len(w) > 1 and w not in _stopwords()]


def new_names(question: str, old: list[Hit], alone: Hit) -> list[str]:
    """Identifiers the question names ("ERNIE 3.0", "GPT-4") that no old paper has but ``alone`` has."""
    from rag.answerable import is_identifier, paper_text, parse_ask

    names = [n for n in parse_ask(question).names if is_identifier(n)]
    return [n for n in names if not any(paper_text(h).has_name(n) for h in old) and paper_text(alone).has_name(n)]


def _coverage(question: str, hit: Hit, idf) -> float:
    from rag.answerable import paper_text, term_coverage

    return term_coverage(question, paper_text(hit), idf)


# --- building the standalone question ---------------------------------------------------------------

def short_name(title: str) -> str:
    """The name a paper goes by: "TorchTitan" for "TorchTitan: One-stop PyTorch native ..."."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 4 else title


def resolve_anaphor(question: str, title: str) -> str:
    """``question`` with its pronouns replaced by the paper's name ("was it" -> "was MediSwift")."""
    name = short_name(title)
    shown = name if name != title else f"“{title}”"

    def swap(match: re.Match) -> str:
        word = match.group(0)
        low = word.lower()
        if low in ("their", "its", "theirs"):
            return f"{shown}'s"
        if low in ("the author", "the authors"):
            return f"the {shown} authors"
        if low.startswith(("their ", "its ")):
            return f"{shown}'s {word.split(' ', 1)[1]}"
        if low == "it's":
            return f"{shown} is"
        return shown

    replaced, count = _ANAPHOR.subn(swap, question)
    if not count:
        replaced = _DEMONSTRATIVE.sub(lambda m: m.group(0).replace(m.group(0).split()[-1].rstrip("?"), shown), question)
    return replaced if replaced != question else f"{question.rstrip(' ?')} in {shown}?"


def with_title(focus: str, titles: list[str]) -> str:
    """The focus question with the full title(s) appended unless already in it: retrieval finds the paper."""
    extra = [t for t in titles if t.casefold() not in focus.casefold()]
    return f"{focus} ({'; '.join(extra)})" if extra else focus


def best_filling(engine, frame: str, slot: str, old: list[Hit], exclude: list[str], idf) -> str:
    """The frame filled with the new slot: with the old slot's words dropped, or all of the frame kept,
    whichever retrieves (past the excluded paper) papers that answer it (the refusal gate) and a best
    paper covering the new slot better.

    Dropping is right for "a language model for Swedish" -> "Nepali", keeping for "sparse pre-training
    to make biomedical LMs cheaper" -> "GPT-3 models", where the rare words of the old paper ("sparse")
    are the frame, not the slot; which words are the slot cannot be told from the words alone.
    """
    kept = fill_frame(frame, slot, [], idf)
    reduced = fill_frame(frame, slot, old, idf)
    if reduced == kept:
        return kept

    def quality(query: str) -> tuple[bool, float, float]:
        hits = [h for h in engine.search(query, k=engine.settings.top_k + len(exclude)) if h.title not in exclude]
        if not hits:
            return (False, 0.0, 0.0)
        answered = not engine.gate.decide(query, hits, engine.score_sentences(query, hits)).refuse
        return (answered, round(_coverage(slot, hits[0], idf), 2), _coverage(kept, hits[0], idf))

    return max((reduced, kept), key=quality)  # on a tie, the shorter question


def fill_frame(frame: str, slot: str, old: list[Hit], idf) -> str:
    """The previous question's frame with its old slot (rare words of the old paper) replaced by ``slot``."""
    from rag.answerable import is_name, paper_text, stem

    slot_stems = {stem(w) for w in _words(slot)}
    papers = [paper_text(h) for h in old]
    kept = []
    for match in _WORD.finditer(frame):
        token = match.group().rstrip(".")
        low = token.casefold()
        specific = is_name(token, first=match.start() == 0) or idf(low) >= SLOT_IDF
        in_old = any(low in p.tokens or stem(low) in p.stems for p in papers)
        if specific and in_old and stem(low) not in slot_stems and low not in _stopwords_set():
            continue
        kept.append(token)
    base = _DANGLING.sub("", " ".join(kept).rstrip(" ?.,"))
    slot_text = slot if _LEADING_PREP.match(slot) else f"for {slot}"
    return f"{base}, {slot_text}?"


def _stopwords_set() -> frozenset[str]:
    from rag.answerable import _stopwords

    return _stopwords()


# --- the rule ---------------------------------------------------------------------------------------

def referents(engine, turn: Turn) -> list[Hit]:
    """The papers the previous answer cited (looked up by title when only titles are known)."""
    if turn.papers:
        return turn.papers
    found = []
    for title in turn.cited[:3]:
        for hit in engine.search(title, k=3):
            if hit.title == title:
                found.append(hit)
                break
    if not found:  # a refusal, or titles not in this index: the previous question's best paper
        found = engine.search(turn.standalone, k=1)[:1]
    turn.papers = found
    return found


def rule_plan(engine, question: str, turns: list[Turn]) -> Plan:
    """The deterministic standalone question for ``question`` after ``turns`` (see the module docstring)."""
    if not turns:
        return Plan(question)
    previous = turns[-1]
    old = referents(engine, previous)
    idf = engine.gate.idf()
    if seeks_paper(question):
        exclude = [h.title for h in old] if _ANOTHER.search(question) else []
        return Plan(question, "switch", exclude=exclude)
    slot = ellipsis_slot(question, previous)
    if slot is not None:
        fits = [h.title for h in old if _coverage(slot, h, idf) >= 0.999]  # the new slot may fit the old paper
        exclude = [h.title for h in old if h.title not in fits]
        return Plan(best_filling(engine, previous.frame, slot, old, exclude, idf), "ellipsis", exclude=exclude)
    anaphor = has_anaphor(question) or bool(_CONTINUES.match(question))  # "and which dataset?" continues
    implicit = not anaphor and len(_WORD.findall(question)) <= FRAGMENT_WORDS
    if not old or not (anaphor or implicit):
        return Plan(question, "switch" if old else "new")
    alone = engine.search(question, k=1)
    if alone and alone[0].title not in [h.title for h in old]:
        if anaphor and new_names(question, old, alone[0]):
            return Plan(question, "switch")
        if implicit and _coverage(question, alone[0], idf) - max(_coverage(question, h, idf) for h in old) \
                >= SWITCH_MARGIN_IMPLICIT:
            return Plan(question, "switch")
    about = old[0]
    focus = resolve_anaphor(question, about.title)
    return Plan(with_title(focus, [about.title]), "anaphor", focus=focus, ask=question, about=[about.title])


def condense(engine, question: str, turns: list[Turn], mode: str) -> Plan:
    """The plan for ``question``: the rule's, or the LLM's rewrite when it retrieves at least as well."""
    plan = rule_plan(engine, question, turns)
    if mode == "extractive" or plan.kind not in ("anaphor", "ellipsis"):
        return plan
    try:
        from rag.llm.condense import llm_condense

        rewritten = llm_condense(engine, question, [(t.standalone, t.answer) for t in turns], mode)
    except Exception:  # any LLM failure falls back to the deterministic rule
        return plan
    if not rewritten or not retrieves_as_well(engine, rewritten, plan):
        return plan
    if plan.kind == "anaphor":
        return Plan(with_title(rewritten, plan.about), "anaphor", focus=rewritten, ask=plan.ask, about=plan.about)
    return Plan(rewritten, "ellipsis", exclude=plan.exclude)


def retrieves_as_well(engine, rewritten: str, plan: Plan) -> bool:
    """Does the LLM's rewrite retrieve at least as well as the rule's standalone question?

    Anaphor: the referent paper must be among the rewrite's top three. Ellipsis: the rewrite's best
    paper other than the excluded one must cover the rule's question at least as well as the rule's best.
    """
    k = 3 + len(plan.exclude)
    mine = [h for h in engine.search(rewritten, k=k) if h.title not in plan.exclude]  # alone: no title appended
    if plan.kind == "anaphor":
        return any(h.title in plan.about for h in mine[:3])
    rule = [h for h in engine.search(plan.standalone, k=k) if h.title not in plan.exclude]
    if not mine or not rule:
        return bool(mine)
    idf = engine.gate.idf()
    return _coverage(plan.standalone, mine[0], idf) >= _coverage(plan.standalone, rule[0], idf)


# --- the follow-up's answer -------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(re.sub(r"\[\d+\]", " ", text).casefold().split())


def repeats(sentence: str, previous_answers: list[str]) -> bool:
    """Is ``sentence`` (an evidence sentence) already part of an earlier answer of this chat?"""
    s = _norm(sentence)
    return bool(s) and any(s in _norm(a) for a in previous_answers if a)


_AUX = r"(?:does|do|did|is|are|was|were|has|have|can|could)"
_THING = re.compile(rf"^(?:which|what)\s+(?!(?:{_AUX}|about)\b)((?:[\w\-+]+\s+){{0,2}}?[\w\-+]+?)s?\s*(?:\?|$|\b{_AUX}\b)",
                    re.I)
#: An asked-for thing counts as mentioned when a word of the abstract is this close (MiniLM cosine), or
#: when the best evidence sentence is this close to the question; below both, the answer says so first.
#: Measured on the train dialogues' follow-ups: asked-for things the abstract states score >= 0.45
#: (word) or >= 0.41 (sentence) except "hardware" (0.45 / 0.29: the abstract says "Cerebras CS-2");
#: "which dataset?" about TorchTitan scores 0.42 / 0.32.
THING_SIMILAR = 0.5
SENTENCE_SIMILAR = 0.35


def _subject(title: str) -> str:
    name = short_name(title)
    return f"The {name} abstract" if name != title else f"The abstract of “{title}”"


def asked_thing(ask: str) -> str:
    """The thing a "which/what X ...?" question asks for ("and which dataset?" -> "dataset"), else ""."""
    match = _THING.match(_CONTINUES.sub("", ask).strip())
    if not match or match.group(1).lower() in ("kind", "type", "sort", "is", "are"):
        return ""
    return match.group(1).lower()


_MASS = frozenset({"hardware", "software", "data", "compute", "information", "evidence", "training", "code"})


def _with_article(thing: str) -> str:
    if thing.split()[-1] in _MASS:
        return thing
    return f"{'an' if thing[0] in 'aeiou' else 'a'} {thing}"


def unmentioned(engine, ask: str, hit: Hit, best_cos: float) -> str:
    """The asked-for thing when ``hit``'s abstract never mentions it (not even a close word) and no
    sentence comes close to the question; "" otherwise (the best sentence is then the answer)."""
    from rag.answerable import fold, paper_text

    thing = asked_thing(ask)
    if not thing or best_cos >= SENTENCE_SIMILAR:
        return ""
    paper = paper_text(hit)
    words = [fold(w) for w in thing.split()]
    if all(paper.has_word(w) for w in words):
        return ""
    vocabulary = sorted({w for w in paper.words if w.isalpha() and len(w) > 2})
    head = _similar(engine.embedder, words[-1:], vocabulary)
    return "" if head and head[0] >= THING_SIMILAR else thing


def not_mentioned_lead(title: str, thing: str) -> str:
    """The opening of an answer whose paper does not mention what is asked; the closest sentence follows."""
    return f"{_subject(title)} does not mention {_with_article(thing)}. The closest it comes: "


def not_answered_lead(title: str) -> str:
    """The opening of an answer whose paper's abstract does not answer the question as asked."""
    return f"{_subject(title)} does not state this directly. The closest it comes: "


def not_stated(title: str, ask: str, number: int) -> str:
    """"The TorchTitan abstract does not mention a dataset [1]." for a follow-up its paper does not answer."""
    thing = asked_thing(ask)
    if thing:
        return f"{_subject(title)} does not mention {_with_article(thing)} [{number}]."
    return f"{_subject(title)} does not answer “{_CONTINUES.sub('', ask).strip()}” [{number}]."


def _similar(embedder, words: list[str], vocabulary: list[str]) -> list[float]:
    """Each word's best cosine to the vocabulary (single-word MiniLM vectors, cached like abstract sentences)."""
    if not words or not vocabulary:
        return [0.0] * len(words)
    a, b = embedder.embed_sentences(words), embedder.embed_sentences(vocabulary)
    return (a @ b.T).max(axis=1).tolist()
