"""Evidence scoring and composition: which abstract sentences an answer quotes, and so which titles it cites."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer import extractive
from rag.types import Hit

PARAPHRASED = ("What approaches exist for reading pen-written equations into LaTeX without needing lots of "
               "labelled data?")
HANDWRITTEN = "Mask & Match: Learning to Recognize Handwritten Math with Self-Supervised Attention"


class SameCosine:
    """Every sentence is equally similar to the question, so only paper relevance can separate them."""

    def embed_query(self, _text: str) -> list[float]:
        return [1.0, 0.0]

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([0.6, 0.8], dtype=np.float32), (len(texts), 1))


def hit(title: str, abstract: str, dense: float, bm25: float) -> Hit:
    return Hit(paper_id=title[:6], title=title, score=0.0, snippet=abstract, dense=dense, bm25=bm25, abstract=abstract)


def test_lexical_evidence_separates_papers_that_embeddings_cannot():
    question = "Which method resets the embedding layer during pretraining?"
    neighbour = hit("Vocabulary expansion", "New tokens get initialised embeddings for continual training of models.",
                    dense=0.66, bm25=3.0)
    forgetting = hit("Active forgetting", "We reset the embedding layer every K updates during pretraining.",
                     dense=0.65, bm25=9.0)
    scored = extractive.score_sentences(question, [neighbour, forgetting], SameCosine())
    by_source = {s.source: s for s in scored}
    assert by_source[2].score > by_source[1].score  # the paper that uses the question's words wins
    assert [s.source for s in extractive.compose(scored)] == [2]
    # the refusal gate's similarity ignores lexical evidence: it was calibrated on embeddings alone
    assert by_source[1].similarity == pytest.approx(0.5 * 0.6 + 0.5 * 0.66)
    assert by_source[2].similarity == pytest.approx(0.5 * 0.6 + 0.5 * 0.65)


def test_without_lexical_weights_the_denser_paper_wins():
    """The control for the test above: the same papers ranked by embeddings alone go the other way."""
    question = "Which method resets the embedding layer during pretraining?"
    papers = [hit("Vocabulary expansion", "New tokens get initialised embeddings for continual training.", 0.66, 3.0),
              hit("Active forgetting", "We reset the embedding layer every K updates during pretraining.", 0.65, 9.0)]
    scored = extractive.score_sentences(question, papers, SameCosine(), bm25_weight=0.0, terms_weight=0.0)
    assert extractive.compose(scored)[0].source == 1


def test_a_paraphrased_question_cites_the_paper_it_describes(engine):
    """Dev question para-008: MiniLM alone preferred MathCoder2's "extracting LaTeX expressions" sentence;
    the paper that BM25 and the question's words point to is the one cited now."""
    answer = engine.ask(PARAPHRASED)
    assert not answer.refused
    assert [c.title for c in answer.citations] == [HANDWRITTEN]
