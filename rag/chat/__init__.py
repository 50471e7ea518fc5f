"""Follow-up condensation: turn a follow-up into the standalone question that retrieval searches for.

A follow-up is one of three kinds, and each needs a different standalone question:

* **anaphor** ("what hardware was it trained on?", "their 7B model", "the authors"): the pronoun means
  the paper the previous answer *cited*, so the paper's name and title replace it. The previous
  question's words are not reused: they retrieve the previous answer again.
* **ellipsis** ("And for Nepali?", "What about galaxies?", "same for legal text?"): the previous
  question's frame ("Which paper presents a language model for Swedish?") with the new slot in place
  of the old one, and the previously cited paper excluded unless the new slot fits it too.
* **self-contained** ("Which paper argues that ...?", "Is there another study on ...?"): the history
  is dropped. Relative pronouns ("papers that show", "the one which") and dummy "it" ("is it possible
  to ...") do not make a question a follow-up: when the paper it retrieves alone uses several of its
  words that the previously cited paper lacks (more, by IDF, than any one word weighs), it stands alone.

The rule is deterministic and needs only the index (BM25 IDF and one extra search per follow-up). With
an LLM (openai/local modes) the model rewrites anaphors and ellipses, and the rewrite is used only when
its retrieval is at least as good as the rule's (see :func:`rag.chat.plan.condense`).

The package: :mod:`rag.chat.cues` (how a follow-up is worded), :mod:`rag.chat.plan` (the standalone
question and the LLM's rewrite), :mod:`rag.chat.reply` (what the follow-up's answer says).
"""

from rag.chat.plan import Plan, Turn, condense, rule_plan
from rag.chat.reply import not_answered_lead, not_mentioned_lead, not_stated, repeats, unmentioned

__all__ = ["Plan", "Turn", "condense", "not_answered_lead", "not_mentioned_lead", "not_stated", "repeats", "rule_plan",
           "unmentioned"]
