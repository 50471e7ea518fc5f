"""The standalone question a follow-up searches for (see :mod:`rag.chat` for the three kinds)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answerable import content_words, idf_of, paper_text, term_coverage, title_coverage
from rag.chat.cues import (
    FRAGMENT_WORDS,
    PAPER_NOUNS,
    as_slot,
    continues,
    ellipsis_slot,
    has_anaphor,
    own_ask,
    resolve_anaphor,
    seeks_paper,
    strip_preposition,
    wants_another,
    without_dangling,
    without_opener,
    word_count,
)
from rag.signals import rarity
from rag.text import PHRASE_TOKEN, fold, is_name, stem, stopwords
from rag.types import Hit

#: A short or "and ..." follow-up without a pronoun ("grokking in LLM pretraining?", "and which
#: dataset?") stands alone when the paper it retrieves by itself covers its content words (IDF-weighted)
#: this much better than the previously cited paper does. (With a pronoun, only SWITCH_EVIDENCE applies: a
#: follow-up like "what hardware was it trained on?" asks for what the old paper may not spell out.)
SWITCH_MARGIN_IMPLICIT = 0.2
#: Frame words at least this rare (BM25 IDF; about 20 of 410 abstracts) that the previous paper holds
#: are its slot: "Swedish" in "a language model for Swedish" is replaced by the ellipsis's new slot.
SLOT_IDF = 2.5
#: A follow-up, pronoun or not, stands alone when the paper its own words retrieve uses content words of
#: it that the cited paper lacks, weighing together (BM25 IDF times general-English rarity, as in the gate)
#: at least this share of a rare word no chunk contains. One new everyday or corpus-common word ("what
#: hardware was it trained on?", "keep training on mixes") may be a detail the old abstract words
#: differently; a rare new word plus more ("is it possible to recognize handwritten math without labels?")
#: is a new question. Fitted on the train split of eval/datasets/dialogues.jsonl (253 dialogues, 300
#: follow-ups right): 1.0 283, 0.8 286, 0.7 286, 0.6 286, 0.5 282; 0.7 is the middle of the plateau.
SWITCH_EVIDENCE = 0.7


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
    ask: str = ""  # what the evidence sentence must answer (anaphor: the follow-up as typed)
    about: list[str] = field(default_factory=list)  # the titles a pronoun (or an ellipsis's named paper) stands for
    exclude: list[str] = field(default_factory=list)  # titles not to retrieve (ellipsis: the previous paper)
    base: str = ""  # ellipsis: the frame without any slot, which the next ellipsis fills in turn

    @property
    def frame(self) -> str:
        return self.base or self.focus or self.standalone


def _words(text: str) -> list[str]:
    return [w for w in (m.group().rstrip(".") for m in PHRASE_TOKEN.finditer(fold(text)))
            if len(w) > 1 and w not in stopwords()]


def new_evidence(question: str, old: list[Hit], alone: Hit, idf) -> float:
    """Summed weight of the question's content words that ``alone`` uses and no ``old`` paper does: how much of
    the question only the other paper answers. A word weighs its IDF times its general-English rarity, as in
    the refusal gate: everyday words ("keep", "happens") that another abstract happens to use are no evidence
    of a new topic; "keep training on mixes that include the test sets" is still about the cited paper."""
    olds = [paper_text(h) for h in old]
    other = paper_text(alone)
    return sum(idf(w) * rarity(w) for w in content_words(question)
               if other.uses(w) and not any(p.uses(w) for p in olds))


def _unknown_word_idf(engine) -> float:
    """The largest IDF a word can have in this index (a word no chunk contains)."""
    _, n_docs = engine.bm25.doc_freq()
    return idf_of(0, max(n_docs, 1))


def _coverage(question: str, hit: Hit, idf) -> float:
    return term_coverage(question, paper_text(hit), idf)


def with_title(focus: str, titles: list[str]) -> str:
    """The focus question with the full title(s) appended unless already in it: retrieval finds the paper."""
    extra = [t for t in titles if t.casefold() not in focus.casefold()]
    return f"{focus} ({'; '.join(extra)})" if extra else focus


def past(engine, query: str, exclude: list[str], searched: dict[str, list[Hit]]) -> list[Hit]:
    """The papers ``query`` retrieves, past the excluded ones; ``searched`` keeps them, so the choice of a
    filling and the named-paper test read one search per candidate query."""
    if query not in searched:
        hits = engine.search(query, k=engine.settings.top_k + len(exclude))
        searched[query] = [h for h in hits if h.title not in exclude]
    return searched[query]


def best_filling(engine, frame: str, slot: str, old: list[Hit], exclude: list[str], idf,
                 searched: dict[str, list[Hit]]) -> str:
    """The frame filled with the new slot: with the old slot's words dropped, or all of the frame kept,
    whichever retrieves (past the excluded paper) papers that answer it (the refusal gate) and a best
    paper covering the new slot better.

    Dropping is right for "a language model for Swedish" -> "Nepali", keeping for "sparse pre-training
    to make biomedical LMs cheaper" -> "GPT-3 models", where the rare words of the old paper ("sparse")
    are the frame, not the slot; which words are the slot cannot be told from the words alone.
    """
    kept = fill_frame(frame, slot, [], idf)
    reduced = fill_frame(frame, slot, old, idf)
    return best_of(engine, [reduced, kept], slot, kept, exclude, idf, searched)


def best_of(engine, candidates: list[str], slot: str, whole: str, exclude: list[str], idf,
            searched: dict[str, list[Hit]]) -> str:
    """The candidate query whose papers (past the excluded ones) the gate answers, and whose best paper
    covers the new slot, then ``whole`` (the slot in its full context), best; on a tie, the first."""
    if len(set(candidates)) == 1:
        return candidates[0]

    def quality(query: str) -> tuple[bool, float, float]:
        hits = past(engine, query, exclude, searched)
        if not hits:
            return (False, 0.0, 0.0)
        answered = not engine.gate.decide(query, hits, engine.score_sentences(query, hits)).refuse
        return (answered, round(_coverage(slot, hits[0], idf), 2), _coverage(whole, hits[0], idf))

    return max(candidates, key=quality)


def named_paper(engine, query: str, subject: str, exclude: list[str], idf,
                searched: dict[str, list[Hit]]) -> list[str]:
    """The paper an ellipsis's new subject names ("And RooseBERT?", "same q for the portuguese one"): the
    best paper for ``query`` past the excluded ones, when its title holds every content word of the subject.

    The follow-up is then about that paper, as a pronoun follow-up is about the paper just cited: the
    answer quotes its closest sentence, saying so when its abstract does not state what is asked, rather
    than refusing a filled-in question whose wording the user never typed.
    """
    subject = " ".join(w for w in subject.split() if w.casefold() not in PAPER_NOUNS)
    words = content_words(subject)
    hits = past(engine, query, exclude, searched)
    if hits and words and title_coverage(subject, hits[0].title, idf) >= 0.999:
        return [hits[0].title]
    # A subject with a specific word ("ODIS with ViT-L, k-NN", "the galaxy one with the volunteer answers")
    # names the paper whose abstract holds all its words: the filled question's best paper, else the best
    # paper for the subject alone (the old question's words can pull the filled one elsewhere).
    if not any(idf(w) >= SLOT_IDF for w in words):
        return []
    for q in (query, subject):
        hits = past(engine, q, exclude, searched)
        if hits and _coverage(subject, hits[0], idf) >= 0.999:
            return [hits[0].title]
    return []


#: A quoted span: "the 'Beyond Cosine Decay' paper", “Dolma”; not an apostrophe inside a word ("Don't").
_QUOTED = re.compile(r"(?:^|(?<=[\s(]))[\"'\u201c\u2018]([^\"\u201c\u201d\u2018\u2019]{3,150}?)[\"'\u201d\u2019]"
                     r"(?=[\s,.?!;:)]|$)")


def quotes_another_paper(engine, question: str, old: list[Hit], idf) -> bool:
    """Does the question quote the title of a paper other than the cited ones ("And what did the 'Beyond
    Cosine Decay' paper conclude?")? A quoted title names what is asked about: the question stands alone."""
    cited = {h.title for h in old}
    for span in _QUOTED.findall(question):
        hits = engine.search(span, k=1) if content_words(span) else []
        if hits and hits[0].title not in cited and title_coverage(span, hits[0].title, idf) >= 0.999:
            return True
    return False


def plural(frame: str) -> bool:
    """Does the question ask for several papers (a list, an overview, a comparison)?"""
    from rag.answer.intent import COMPARE, LIST, OVERVIEW, detect

    return detect(frame).kind in (LIST, OVERVIEW, COMPARE)


def fill_frame(frame: str, slot: str, old: list[Hit], idf) -> str:
    """The previous question's frame with its old slot (rare words of the old paper) replaced by ``slot``."""
    slot_stems = {stem(w) for w in _words(slot)}
    papers = [paper_text(h) for h in old]
    kept = []
    for match in PHRASE_TOKEN.finditer(frame):
        token = match.group().rstrip(".")
        low = token.casefold()
        specific = is_name(token, first=match.start() == 0) or idf(low) >= SLOT_IDF
        in_old = any(low in p.tokens or stem(low) in p.stems for p in papers)
        if specific and in_old and stem(low) not in slot_stems and low not in stopwords():
            continue
        kept.append(token)
    return without_dangling(' '.join(kept).rstrip(' ?.,')) + _slot_suffix(slot)


def _slot_suffix(slot: str) -> str:
    """How a filled frame ends: ", for Nepali?"; what is before it is the frame the next ellipsis fills."""
    return f", {as_slot(slot)}?"


def referents(engine, turn: Turn) -> list[Hit]:
    """The papers the previous answer cited (looked up by title when only titles are known)."""
    if turn.papers:
        return turn.papers
    found = [p for p in (engine.paper(t) for t in turn.cited[:3]) if p]
    if not found:  # a refusal, or titles not in this index: the previous question's best paper
        found = engine.search(turn.standalone, k=1)[:1]
    turn.papers = found
    return found


def rule_plan(engine, question: str, turns: list[Turn]) -> Plan:
    """The deterministic standalone question for ``question`` after ``turns`` (see :mod:`rag.chat`)."""
    plain = without_opener(question)  # what a new or self-contained question searches for
    if not turns:
        return Plan(plain)
    previous = turns[-1]
    old = referents(engine, previous)
    idf = engine.gate.idf()
    if seeks_paper(question):
        exclude = [h.title for h in old] if wants_another(question) else []
        return Plan(plain, "switch", exclude=exclude)
    slot = ellipsis_slot(question, previous.frame)
    if slot is not None:
        slot, ask = own_ask(slot)
        fits = [h.title for h in old if _coverage(slot, h, idf) >= 0.999]  # the new slot may fit the old paper
        exclude = [h.title for h in old if h.title not in fits]
        searched: dict[str, list[Hit]] = {}
        if ask:  # "What about VLN-BERT? What extra data did it use?": its own question, about the new subject
            subject = strip_preposition(slot)
            alone = resolve_anaphor(ask, subject, shown=subject).rstrip(" ?") + "?"
            # "what about the second-generation version, ...": a subject named relative to the old paper
            related = with_title(alone, [h.title for h in old[:1]])
            query = best_of(engine, [alone, related], subject, related, exclude, idf, searched)
            return Plan(query, "ellipsis", exclude=exclude,
                        about=named_paper(engine, query, subject, exclude, idf, searched))
        filled = best_filling(engine, previous.frame, slot, old, exclude, idf, searched)
        # "And for Korean?" after "And for Nepali?" fills the same frame: slots replace, never pile up
        about = [] if plural(previous.frame) else named_paper(engine, filled, strip_preposition(slot), exclude, idf,
                                                              searched)
        return Plan(filled, "ellipsis", exclude=exclude, base=filled.removesuffix(_slot_suffix(slot)), about=about,
                    ask=fill_frame(previous.frame, slot, [], idf) if about else "")
    if quotes_another_paper(engine, question, old, idf):
        return Plan(plain, "switch")
    anaphor = has_anaphor(question) or continues(question)  # "and which dataset?" continues
    implicit = not anaphor and word_count(question) <= FRAGMENT_WORDS
    if not old or not (anaphor or implicit):
        return Plan(plain, "switch" if old else "new")
    alone = engine.search(question, k=1)
    if alone and alone[0].title not in [h.title for h in old]:
        if new_evidence(question, old, alone[0], idf) >= SWITCH_EVIDENCE * _unknown_word_idf(engine):
            return Plan(plain, "switch")
        if implicit and _coverage(question, alone[0], idf) - max(_coverage(question, h, idf) for h in old) \
                >= SWITCH_MARGIN_IMPLICIT:
            return Plan(plain, "switch")
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
