"""How a follow-up is worded: the rule tables that tell an anaphor, an ellipsis and a new question apart.

Word cues only (no model): pronouns and definite descriptions that point back to a paper, the lead-ins
of an elliptical follow-up ("and for ...", "what about ...", "same for ..."), and the phrasings that ask
for a (new) paper. :mod:`rag.chat.plan` decides with them which standalone question to search for.
"""

from __future__ import annotations

import re

from rag.text import PHRASE_TOKEN

#: Pronouns and definite descriptions that refer back to a paper. "that"/"which" alone are not here:
#: they are mostly relative pronouns ("papers that show ...").
#: Nouns that stand for a paper ("that model", "the portuguese one"): they name no subject of their own.
PAPER_NOUNS = ("paper", "papers", "model", "models", "method", "methods", "approach", "work", "study", "system",
               "framework", "technique", "architecture", "version", "benchmark", "corpus", "dataset", "one")
_ANAPHOR = re.compile(
    rf"\b(?:(?:that|this|these|those|the same|said|their|its)\s+(?:{'|'.join(PAPER_NOUNS[:-1])})"
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
_OK = r"ok(?:ay)?"
#: Social openers before a question ("thanks. now, ...", "great! also, ..."): not part of what is asked.
_SOCIAL = (rf"(?:{_OK}|thanks|thank you|thx|great|cool|nice|perfect|got it|interesting|alright|now|so|also|btw|"
           r"by the way)\b")
#: Announcing a new topic ("unrelated: ...", "different question - ...", "on another note, ..."): what follows
#: stands alone, whatever pronouns it has ("... MosaicBERT use for its MLM objective").
_TOPIC_CHANGE = (r"(?:(?:an?\s+)?(?:unrelated|new|different|separate|another|other)\s+(?:question|topic|subject|thing|q)\b"
                 r"|unrelated\b|separately\b|chang(?:e|ing) (?:of )?(?:the )?(?:topic|subject)|switching (?:gears|topics?)"
                 r"|on (?:another|a different|an unrelated) note)")
_NEW_TOPIC = re.compile(rf"^\s*(?:(?:{_SOCIAL}|and)[,.!:;\s-]*)*{_TOPIC_CHANGE}", re.I)
_OPENER = re.compile(rf"^\s*(?:(?:{_SOCIAL}|{_TOPIC_CHANGE}|and)[,.!:;\s-]+)+", re.I)
#: Lead-ins of an elliptical follow-up; the rest is the new slot.
_LEAD_IN = rf"^\s*(?:(?:{_OK}|so|and|or|also|then|now)[,\s]+)*"
_SLOT_START = r"(?:one\s+|a\s+paper\s+|the\s+same\s+)?(?:for|with|in|on|about|to)\b"
_SAME = r"(?:the\s+)?same(?:\s+(?:question|thing|q))?"  # "same for ...", "same question for ..."
_ELLIPSIS_LEAD = re.compile(rf"{_LEAD_IN}(?:what|how)\s+about\b\s*|{_LEAD_IN}{_SAME}\s+(?:for|with|in|on)\b\s*|"
                            rf"^\s*(?:{_OK}[,\s]+)?(?:and|or)\b\s*(?={_SLOT_START})", re.I)
#: "and omnitab", "and the ideological depth one": a fragment after "and" is a new slot for the last question.
_AND = re.compile(rf"^\s*(?:(?:{_OK}|so|now|then)[,\s]+)*(?:and|or)\b", re.I)  # "ok and plankton?" too
_CONTINUES = re.compile(rf"^\s*(?:(?:{_OK}|so|and|also|then|now|thanks|nice|great|interesting)\b[,.!\s]*)+", re.I)
_WH = re.compile(r"^\s*(?:which|what|who|whom|whose|when|where|why|how|is|are|does|do|did|can|could|was|were|has|"
                 r"have|list|name|describe|explain|tell|give|show)\b", re.I)
_LEADING_PREP = re.compile(r"^(?:(?:one|a\s+paper|the\s+same)\s+)?(?:for|with|in|on|about|to)\s+", re.I)
_TRAILING_FILLER = re.compile(r"(?:\s+(?:instead|too|as well|then))+\s*$", re.I)
_DANGLING = re.compile(r"(?:\s+(?:for|to|on|in|of|with|from|by|at|a|an|the|and|or))+\s*$", re.I)
_AUX = r"(?:does|do|did|is|are|was|were|has|have|can|could)"
_THING = re.compile(rf"^(?:which|what)\s+(?!(?:{_AUX}|about)\b)((?:[\w\-+]+\s+){{0,2}}?[\w\-+]+?)s?\s*(?:\?|$|\b{_AUX}\b)",
                    re.I)

#: Follow-ups up to this many words that are no question ("food image segmentation?") are ellipses
#: when the previous question asked for a paper.
FRAGMENT_WORDS = 6


def has_anaphor(question: str) -> bool:
    return bool(_ANAPHOR.search(question) or _DEMONSTRATIVE.search(question))


def seeks_paper(question: str) -> bool:
    """The question asks for a (new) paper, or announces a new topic: it stands alone."""
    return bool(_SEEKS_PAPER.search(question) or _NEW_TOPIC.search(question))


def wants_another(question: str) -> bool:
    """"another / other / different / else": not the paper just cited."""
    return bool(_ANOTHER.search(question))


def continues(question: str) -> bool:
    """Opens with "and", "so", "ok", "thanks" ...: goes on about the same paper ("and which dataset?")."""
    return bool(_CONTINUES.match(question))


def without_lead_in(question: str) -> str:
    """The question without its "ok, so, and, thanks ..." opening."""
    return _CONTINUES.sub("", question)


def word_count(text: str) -> int:
    return len(PHRASE_TOKEN.findall(text))


def ellipsis_slot(question: str, previous_frame: str) -> str | None:
    """The new slot of an elliptical follow-up ("And for Nepali?" -> "for Nepali"), or None.

    An explicit lead-in ("and for", "what about", "same for") makes an ellipsis; so does a short
    fragment that is no question ("food image segmentation?") after a question (``previous_frame``)
    that asked for a paper. "and which dataset?" is no ellipsis: it asks a new question about the same paper.
    """
    text = question.strip()
    lead = _ELLIPSIS_LEAD.match(text)
    conjunction = _AND.match(text)
    if not lead and conjunction and own_ask(text[conjunction.end():])[1]:
        # "and megalodon, what'd it get compared against": a new subject with its own question
        return text[conjunction.end():].strip().rstrip("?.! ")
    if lead:
        rest = text[lead.end():]
        if _WH.match(rest) and not rest.lower().startswith(("what about", "how about")):
            return None
    elif (word_count(text) <= FRAGMENT_WORDS and not _WH.match(without_lead_in(text)) and not has_anaphor(text)
          and (seeks_paper(previous_frame) or _AND.match(text))):
        rest = without_lead_in(text)
    else:
        return None
    slot = _TRAILING_FILLER.sub("", rest.strip().rstrip("?.! ").strip(" ,"))
    return slot or None


#: A question, also with its question word after a preposition ("compared to which model they report the gains").
_ASK_START = re.compile(rf"(?:(?:compared|relative|according)\s+to\s+|(?:on|in|for|from|with|by|against|over)\s+)?"
                        rf"{_WH.pattern.removeprefix('^')}", re.I)
#: "the Vietnamese T5 model, which tasks was it benchmarked on": a slot followed by its own question.
_OWN_ASK = re.compile(r"\s*(?:[,;:?]|\s-)\s*(?=\S)")


def own_ask(slot: str) -> tuple[str, str]:
    """``slot`` split into the new subject and its own question ("VLN-BERT? What extra data did it use" ->
    ("VLN-BERT", "What extra data did it use")), or (slot, "") when no question follows the subject.

    Such a follow-up names what the question is now about and asks its own question of it, so the
    previous question's frame is not needed: the ask with its pronoun read as the new subject is.
    """
    for match in _OWN_ASK.finditer(slot):
        head, ask = slot[:match.start()].strip(), slot[match.end():].strip()
        if head and _ASK_START.match(ask) and not _WH.match(head) and not has_anaphor(head):  # "their results, how …"
            return head, ask
    return slot, ""


def as_slot(slot: str) -> str:
    """A slot that reads after a comma: "for Nepali" stays, "Nepali" becomes "for Nepali"."""
    return slot if _LEADING_PREP.match(slot) else f"for {slot}"


def strip_preposition(slot: str) -> str:
    """"for clinical LLMs" -> "clinical LLMs": the subject of a slot, to stand where a pronoun was."""
    return _LEADING_PREP.sub("", slot)


def without_opener(question: str) -> str:
    """``question`` without its social opener, when a question of at least three words remains."""
    rest = _OPENER.sub("", question, count=1)
    return rest if rest != question and len(rest.split()) >= 3 else question


def without_dangling(frame: str) -> str:
    """A frame whose old slot was cut out, without the prepositions and articles left hanging at its end."""
    return _DANGLING.sub("", frame)


def short_name(title: str) -> str:
    """The name a paper goes by: "TorchTitan" for "TorchTitan: One-stop PyTorch native ..."."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 4 else title


def resolve_anaphor(question: str, title: str, shown: str = "") -> str:
    """``question`` with its pronouns replaced by the paper's name ("was it" -> "was MediSwift"), or by
    ``shown`` when given (a subject the user named, not a title)."""
    name = short_name(title)
    shown = shown or (name if name != title else f"“{title}”")

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


def asked_thing(ask: str) -> str:
    """The thing a "which/what X ...?" question asks for ("and which dataset?" -> "dataset"), else ""."""
    match = _THING.match(without_lead_in(ask).strip())
    if not match or match.group(1).lower() in ("kind", "type", "sort", "is", "are"):
        return ""
    return match.group(1).lower()
