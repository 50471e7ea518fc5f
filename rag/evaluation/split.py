"""The frozen train / test split of the evaluation bank, by paper.

Every threshold, weight or rule is fitted on ``train`` only; ``test`` is for reporting (test first)
and for the CI regression gate. The split is a pure function of the data, so it never drifts:

* a question with expected papers belongs to the split of its first expected paper, and a paper is in
  ``test`` when its id (``rag.ingest.text.paper_id``: a hash of its normalised title) falls in the
  lowest 30% of the hash space;
* an unanswerable question (no paper) is split the same way by a hash of its id.

Splitting by paper (not by question) means no test question is about a paper that a train question
taught the gate about; 30% leaves ~130 test questions in a 440-question bank.
"""

from __future__ import annotations

import hashlib

from rag.ingest.text import paper_id

TEST_SHARE = 0.3


def _in_test(key: str) -> bool:
    return int(key[:8], 16) / 0xFFFFFFFF < TEST_SHARE


def split_of(expected_titles: list[str], question_id: str) -> str:
    """"train" or "test" for one question (or dialogue: pass its first turn's expected titles)."""
    if expected_titles:
        return "test" if _in_test(paper_id(expected_titles[0])) else "train"
    return "test" if _in_test(hashlib.sha1(question_id.encode()).hexdigest()) else "train"
