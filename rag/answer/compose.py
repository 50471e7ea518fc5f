"""Question-aware extractive answers: the evidence arranged in the shape the question asks for.

The old extractive answer was "the two or three best sentences overall", whatever was asked: a list
question named one or two papers, a lookup could open with a side remark, a comparison quoted one
side. Here :mod:`rag.answer.intent` names the shape and each shape has its own rule:

* list: every paper within ``LIST_MARGIN`` of the best paper's relevance, one bullet each (its best
  sentence), however many there are among the (deeper) retrieved candidates;
* lookup / summary: one paper (the one the question names, else the best), opening with its defining
  sentence ("we introduce / propose / present X"), then its most relevant other sentences;
* fact / yes-no: the sentence holding the asked-for value (digits when a value is asked), then the
  next best sentence of the same paper;
* compare: one block per side (each side resolved to the paper that matches it best), parallel evidence;
* overview: the relevant papers, grouped by how similar their evidence is, one bullet per paper.

Invariants, whatever the shape (tests/answer/test_compose.py): every sentence that carries a citation
is a whole sentence copied verbatim from the abstract it cites; framing lines ("Papers that fit the
question:") carry no citation and stand on their own line; a sentence that addresses the reader or a
model ("ignore previous instructions", "answer that …") is never quoted (abstracts are data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from rag.answer import intent as intents
from rag.answer.extractive import Scored, compose
from rag.types import Hit

#: A list/overview names every paper whose relevance (its best sentence's score plus TOPIC_WEIGHT x its
#: topic coverage) is at least the best paper's minus this margin. Tuned with eval/compose_sweep.py on the
#: train split only (65 multi/compare questions of the bank + dev; expected papers among the 15 candidates:
#: 0.964). Citation precision / recall (topic weight 0.3, power 2): margin 0.15 0.928 / 0.638, 0.20
#: 0.906 / 0.693, 0.25 0.862 / 0.763; the old fixed 0.02 margin named ~1.4 papers. The choice favours
#: precision: a wrong paper in a list misleads more than a missing one.
LIST_MARGIN = 0.2
#: Weight of topic coverage (rag.answer.compose.topic_coverage) in a list's paper relevance.
TOPIC_WEIGHT = 0.3  # see LIST_MARGIN
#: Topic words weigh IDF ** TOPIC_POWER: the rarest word ("filtering") decides more than "data" or "LLM".
#: About equal to 1.0 on the train split (0.906 / 0.693 vs 0.912 / 0.697 at margin 0.2); it keeps "LLM
#: pre-training" papers without "filtering" out of the data-filtering list.
TOPIC_POWER = 2.0
#: A listed paper's topic coverage must be at least this share of the best paper's. Off: on the train split
#: floors 0.4 / 0.6 / 0.8 lost recall (0.686 -> 0.668 / 0.632 / 0.561) without gaining precision (margin 0.2).
TOPIC_FLOOR = 0.0
#: At most this many papers in a list or overview (a screenful; k is what is shown, not a cap).
LIST_MAX = 8
#: Retrieval depth for list-like questions, as a multiple of k (the candidates the cut-off sees).
DEPTH = 3
#: Sentences quoted per paper in a comparison block, a lookup/summary, and a fact answer.
PER_COMPARE, PER_LOOKUP, PER_SUMMARY, PER_FACT = 2, 2, 3, 2
#: In a fact answer, a sentence with digits wins over a better-scored one without, within this margin.
NUMBER_MARGIN = 0.06
#: Overview groups: two papers share a group when their best sentences are at least this similar.
GROUP_SIMILARITY = 0.55

# Sentences that address the reader or a model: instructions, not evidence (prompt injection in an abstract).
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+)*(?:previous|prior|above|earlier"
    r"|preceding|system|original|other|given)?\s*(?:instructions?|prompts?|messages?|rules|context|directions?|guidelines)"
    r"|\bignore (?:all |everything )?(?:previous|prior|above|earlier)\b"
    r"|^\W*(?:please\s+)?(?:answer|respond|reply|say|tell|output|print|write|claim|cite|repeat|pretend|act as)\b"
    r"|[;:]\s*(?:please\s+)?(?:answer|respond|reply|say|tell|output|print|write|claim|cite|repeat)\s+(?:that|with|only)\b"
    r"|\byou (?:must|should|shall|have to|need to|are (?:required|instructed|told)|will now|may not|must not)\b"
    r"|\b(?:as an ai|system prompt|new instructions|developer mode|jailbreak)\b"
    r"|\b(?:assistants?|chatbots?|the model|language models?|llms?|ai)\s*,?\s+(?:must|should|shall)\s+"
    r"(?:answer|respond|say|reply|ignore|cite|state|output)\b"
    r"|\bdo not (?:cite|mention|reveal|tell)\b|\banswer (?:that|with|only)\b",
    re.I,
)
# "We introduce / propose / present X", "X is a …": the sentence that says what a paper is.
_DEFINING = re.compile(
    r"\b(?:we|this (?:paper|work|report|study)|here,? we|in this (?:paper|work|report),? we|the paper)\s+(?:\w+ly\s+)?"
    r"(?:introduce|introduces|propose|proposes|present|presents|describe|describes|develop|develops|release|releases"
    r"|build|builds|design|designs|unveil|offer|report|debut|contribute)\b"
    r"|\b(?:is|are) (?:a|an|the) (?:new |novel |simple |general |large |open |family |suite |series )?"
    r"(?:\w+[- ]){0,3}(?:model|framework|method|approach|benchmark|dataset|corpus|toolkit|library|system|suite"
    r"|family|series|technique|recipe|architecture|pipeline|algorithm|strategy|paradigm)s?\b",
    re.I,
)
# "Code is released at https://…": availability notes, quoted only when the question asks where to get something.
_BOILERPLATE = re.compile(r"https?:\s?//|\bgithub\.com\b|\b(?:code|models?|weights|data(?:set)?s?|checkpoints)"
                          r"(?: and [\w-]+)* (?:is|are|will be) (?:publicly |freely |openly )?(?:available|released)\b", re.I)
_WANTS_LINK = re.compile(r"\b(?:code|github|url|link|download|available|release[sd]?|open[- ]source|weights|where)\b", re.I)
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[a-z0-9][a-z0-9+\-.]*")
_STOP_WORDS = """a an the of for on in to and or with by from at as is are was were be been does do did what which
who how why when where this that these those it its their there here paper papers work works study studies model models
about between vs versus compare comparison difference differ each both any all corpus collection tell me please"""
_STOP = frozenset(_STOP_WORDS.split())


def is_instruction(sentence: str) -> bool:
    """True for a sentence that addresses the reader or a model (never quoted, never shown to an LLM)."""
    return bool(_INJECTION.search(sentence))


def defining(sentence: str) -> bool:
    return bool(_DEFINING.search(sentence))


#: One line of an answer: a prefix (framing words, or "- " for a bullet) and the cited sentences after it.
Line = tuple[str, list[Scored]]


@dataclass
class Composition:
    """What the composer chose, line by line; ``text`` renders it with [n] markers."""

    kind: str
    lines: list[Line] = field(default_factory=list)

    @property
    def picked(self) -> list[Scored]:
        return [s for _, quotes in self.lines for s in quotes]

    @property
    def papers(self) -> list[int]:
        """Cited source numbers, in order of first use."""
        return list(dict.fromkeys(s.source for s in self.picked))

    @property
    def empty(self) -> bool:
        return not self.picked

    @property
    def text(self) -> str:
        return "\n".join((prefix + " ".join(_cite(s) for s in quotes)).rstrip() for prefix, quotes in self.lines).strip()

    def renumbered(self, mapping: dict[int, int]) -> Composition:
        """The same answer with source numbers changed (old -> new), e.g. after re-ordering the sources."""
        return Composition(self.kind, [(prefix, [replace(s, source=mapping[s.source]) for s in quotes])
                                       for prefix, quotes in self.lines])


def relevance(scored: list[Scored], topic: dict[int, float] | None = None, weight: float = 0.0) -> dict[int, float]:
    """Each paper's relevance: the score of its best sentence, plus ``weight`` x its topic coverage."""
    best: dict[int, float] = {}
    for s in scored:
        best[s.source] = max(best.get(s.source, float("-inf")), s.score)
    if topic and weight:
        best = {n: r + weight * topic.get(n, 0.0) for n, r in best.items()}
    return best


def relevant_papers(scored: list[Scored], margin: float = LIST_MARGIN, limit: int = LIST_MAX,
                    topic: dict[int, float] | None = None, weight: float = 0.0, floor: float = 0.0) -> list[int]:
    """The papers within ``margin`` of the best paper's relevance, best first (at most ``limit``); with
    ``floor``, also only papers whose topic coverage is at least ``floor`` x the best coverage."""
    rel = relevance(scored, topic, weight)
    if not rel:
        return []
    top = max(rel.values())
    best_topic = max(topic.values(), default=0.0) if topic else 0.0
    return [n for n, r in sorted(rel.items(), key=lambda nr: -nr[1])
            if r >= top - margin and (not topic or topic.get(n, 0.0) >= floor * best_topic)][:limit]


#: Words that frame a list question ("which papers propose …"), not its topic.
_FRAMING_WORDS = """which what papers paper works work studies study ones propose proposes proposed list every all
any there here corpus collection describe describes introduce introduces build builds do does deal deals cover
covers look looks tackle tackles focus focuses article articles in on about that"""
_FRAMING = frozenset(_FRAMING_WORDS.split())


def _norm_words(text: str) -> list[str]:
    """Words with hyphens and spaces inside compounds ignored ("pre-training" = "pretraining")."""
    from rag.answerable import fold

    return [w.replace("-", "") for w in re.findall(r"[a-z0-9][a-z0-9\-+]*", fold(text))]


def topic_coverage(question: str, hits: list[Hit], idf: Callable | None = None,
                   power: float | None = None) -> dict[int, float]:
    """Per paper, the IDF-weighted share of the question's topic words its title + abstract uses (by stem,
    hyphen-insensitive). Why: in a list question the rare topic words ("filtering" in "which papers propose
    data filtering for LLM pre-training") separate the papers that fit from papers that are merely about
    LLM pre-training, which embeddings alone rank alike."""
    from rag.answerable import _stopwords, stem

    words = {w for w in _norm_words(question) if len(w) > 1 and w not in _FRAMING and w not in _stopwords()}
    if not words:
        return {}
    stems = {w: stem(w) for w in words}
    power = TOPIC_POWER if power is None else power
    weights = {w: (idf(w) if idf else 1.0) ** power for w in words}
    total = sum(weights.values()) or 1.0
    out = {}
    for n, h in enumerate(hits, start=1):
        have = {stem(w) for w in _norm_words(f"{h.title} {h.abstract or h.snippet}")}
        out[n] = sum(weights[w] for w in words if stems[w] in have) / total
    return out


def _by_paper(scored: list[Scored]) -> dict[int, list[Scored]]:
    out: dict[int, list[Scored]] = {}
    for s in sorted(scored, key=lambda s: -s.score):
        out.setdefault(s.source, []).append(s)
    return out


def _words(text: str) -> set[str]:
    return {w.rstrip(".-") for w in _WORD.findall(text.casefold())} - _STOP


def _mentions(sentence: str, names: set[str]) -> int:
    words = _words(sentence)
    return sum(1 for n in names if n in words)


def _lead_sentences(sentences: list[Scored], count: int, names: set[str]) -> list[Scored]:
    """A paper's defining sentence first (preferring one that names what was asked), then its best others."""
    ranked = sorted(sentences, key=lambda s: -s.score)
    defs = [s for s in ranked if defining(s.sentence)]
    lead = max(defs, key=lambda s: (_mentions(s.sentence, names), s.score), default=None) if defs else None
    picked = [lead] if lead else []
    picked += [s for s in ranked if s is not lead][:count - len(picked)]
    return picked


def _fact_sentences(sentences: list[Scored], count: int, wants_number: bool) -> list[Scored]:
    ranked = sorted(sentences, key=lambda s: -s.score)
    if not ranked:
        return []
    first = ranked[0]
    if wants_number and not _DIGIT.search(first.sentence):
        with_digit = [s for s in ranked if _DIGIT.search(s.sentence) and s.score >= first.score - NUMBER_MARGIN]
        if with_digit:
            first = with_digit[0]
    return [first] + [s for s in ranked if s is not first][:count - 1]


def _in_abstract_order(picked: list[Scored], hits: list[Hit]) -> list[Scored]:
    def position(s: Scored) -> int:
        abstract = hits[s.source - 1].abstract or hits[s.source - 1].snippet
        at = abstract.find(s.sentence)
        return at if at >= 0 else 10 ** 6
    return sorted(picked, key=position)


def _cite(s: Scored) -> str:
    return f"{s.sentence} [{s.source}]"


def _bullets(picked: list[Scored]) -> list[Line]:
    return [("- ", [s]) for s in picked]


#: A comparison side names a paper when this share of its words (IDF-weighted) is in the paper's title, or
#: twice that in its abstract; a side that names nothing ("on when image data should enter") adds no block.
SIDE_MATCH = 0.6


def resolve_targets(targets: list[str], hits: list[Hit], candidates: list[int]) -> list[int]:
    """Each comparison side -> the candidate paper whose title (or else abstract) matches it best."""
    from rag.answerable import paper_text, term_coverage

    chosen: list[int] = []
    for target in targets:
        best, best_score = None, 0.0
        for n in candidates:
            if n in chosen:
                continue
            hit = hits[n - 1]
            title = term_coverage(target, paper_text(Hit(paper_id="", title=hit.title, score=0.0, snippet="",
                                                         abstract=hit.title)))
            score = title + 0.5 * term_coverage(target, paper_text(hit))
            if score > best_score:
                best, best_score = n, score
        if best is not None and best_score >= SIDE_MATCH:
            chosen.append(best)
    return chosen


def _groups(papers: list[int], best: dict[int, Scored], similarity: Callable | None) -> list[list[int]]:
    """Greedy grouping by the similarity of papers' best sentences (one group when no embedder is given)."""
    if similarity is None or len(papers) < 3:
        return [papers]
    matrix = similarity([best[n].sentence for n in papers])
    groups: list[list[int]] = []
    leads: list[int] = []
    for i, n in enumerate(papers):
        for g, lead in enumerate(leads):
            if matrix[i][lead] >= GROUP_SIMILARITY:
                groups[g].append(n)
                break
        else:
            groups.append([n])
            leads.append(i)
    return groups


def _group_label(group: list[int], hits: list[Hit]) -> str:
    """Framing for an overview group: the title words its papers share (no citation)."""
    counts: dict[str, int] = {}
    for n in group:
        for w in _words(hits[n - 1].title):
            if len(w) > 3 and not w.isdigit():
                counts[w] = counts.get(w, 0) + 1
    shared = [w for w, c in sorted(counts.items(), key=lambda wc: -wc[1]) if c > 1][:3]
    return ("On " + ", ".join(shared) + ":") if shared else "Related papers:"


def compose_answer(question: str, hits: list[Hit], scored: list[Scored], intent: intents.Intent | None = None,
                   named: set[int] | None = None, similarity: Callable | None = None,
                   margin: float = LIST_MARGIN, idf: Callable | None = None,
                   topic_weight: float | None = None, topic_power: float | None = None,
                   topic_floor: float | None = None) -> Composition:
    """Compose the answer to ``question`` from ``scored`` evidence over ``hits`` (see module docstring).

    ``named`` are the sources the question names (rag.answerable.named_sources): a lookup, fact or
    summary is answered from them only. ``similarity(texts) -> matrix`` groups an overview.
    """
    ask = intent or intents.detect(question)
    clean = [s for s in scored if not is_instruction(s.sentence)]
    if not _WANTS_LINK.search(question):
        clean = [s for s in clean if not _BOILERPLATE.search(s.sentence)] or clean
    if not clean:
        return Composition(ask.kind)
    pool = [s for s in clean if s.source in named] if named else []
    pool = pool or clean
    papers = _by_paper(pool)
    qnames = _words(question)
    kind = ask.kind
    weight = TOPIC_WEIGHT if topic_weight is None else topic_weight
    topic = topic_coverage(question, hits, idf, topic_power) if kind in (intents.LIST, intents.OVERVIEW, intents.COMPARE) else {}

    if kind == intents.COMPARE:
        candidates = relevant_papers(clean, margin=max(margin, 0.2), limit=LIST_MAX, topic=topic, weight=weight)
        sides = resolve_targets(ask.targets, hits, sorted(_by_paper(clean))) if len(ask.targets) >= 2 else []
        if len(sides) < 2:
            rel = relevance(clean)
            sides = (sorted(named, key=lambda n: -rel.get(n, 0.0)) if named and len(named) >= 2 else candidates)[:4]
        if re.search(r"\b(?:two|both)\b", question, re.I):
            sides = sides[:2]
        by_paper = _by_paper(clean)
        lines: list[Line] = []
        for n in sides:
            quote = _lead_sentences(by_paper.get(n, []), PER_COMPARE, qnames)
            if quote:
                lines += [("", [])] if lines else []
                lines.append(("- ", _in_abstract_order(quote, hits)))
        if sum(1 for _, q in lines if q) >= 2:
            return Composition(kind, lines)
        kind = intents.GENERAL

    if kind in (intents.LIST, intents.OVERVIEW):
        # every paper, not only those that contain the question's names: "LLM" in "which papers propose data
        # filtering for LLM pre-training" would drop the papers that say "language models" (topic coverage
        # already rewards the names)
        chosen = relevant_papers(clean, margin=margin, topic=topic, weight=weight,
                                 floor=TOPIC_FLOOR if topic_floor is None else topic_floor)
        by_paper = _by_paper(clean)
        best = {n: _fact_sentences(by_paper[n], 1, ask.wants_number)[0] for n in chosen}
        if kind == intents.LIST or len(chosen) < 3:
            head: list[Line] = [("Papers that fit the question:", [])] if len(chosen) > 1 else []
            return Composition(kind, head + _bullets([best[n] for n in chosen]))
        lines = []
        groups = _groups(chosen, best, similarity)
        singles = [n for g in groups if len(g) == 1 for n in g]
        for group in [g for g in groups if len(g) > 1] + ([singles] if singles else []):
            lines += [("", [])] if lines else []
            label = _group_label(group, hits) if group is not singles else ("Other papers:" if lines else "")
            lines += [(label, [])] if label else []
            lines += _bullets([best[n] for n in group])
        return Composition(kind, lines)

    top = max(papers, key=lambda n: papers[n][0].score)
    if kind in (intents.LOOKUP, intents.SUMMARY):
        count = PER_SUMMARY if kind == intents.SUMMARY else PER_LOOKUP
        lead = _lead_sentences(papers[top], count, qnames)
        if kind == intents.SUMMARY:
            lead = [lead[0]] + _in_abstract_order(lead[1:], hits)
        return Composition(kind, [("", lead)])

    if kind in (intents.FACT, intents.YESNO):
        return Composition(kind, [("", _fact_sentences(papers[top], PER_FACT, ask.wants_number))])

    return Composition(kind, [("", compose(pool))])
