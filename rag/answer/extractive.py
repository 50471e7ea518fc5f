"""No-LLM answers: the abstract sentences most similar to the question, each followed by its [n] source.

Usable offline with nothing but the embedding model, and the fallback whenever an LLM fails. It can
only quote retrieved abstracts, so every citation is a retrieved paper by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.embed import Embedder
from rag.text import split_sentences
from rag.types import Hit


@dataclass
class Scored:
    source: int  # 1-based index into the hits
    sentence: str
    score: float  # sentence relevance blended with its paper's relevance: picks and ranks evidence
    cos: float = 0.0  # cosine of the sentence alone to the question
    similarity: float = 0.0  # the embedding-only blend the refusal gate is calibrated on (rag.refusal)


#: Weight of the paper's relevance in a sentence's score; the rest is the sentence's own cosine.
#: Sentence similarity alone favours generic sentences ("continual pre-training is popular") from
#: weaker papers over the specific sentence of the paper the question is about.
PAPER_WEIGHT = 0.7
#: A paper's relevance is its best chunk's cosine plus lexical evidence: its BM25 score relative to
#: the best retrieved paper's, and the IDF-weighted share of the question's words its title + abstract
#: uses (rag.answerable.term_coverage). Why: MiniLM alone often prefers a neighbouring paper on
#: paraphrased questions ("re-initializing the token embedding layer" scored HYPEROFA's "initialize
#: their embeddings" above Active Forgetting's "resetting the embedding layer every K updates"), and the
#: words the two share are what separate them. Chosen with ``python eval/calibrate_refusal.py
#: --relevance`` on eval/datasets/dev.jsonl (97 answered questions), extractive citation precision /
#: recall: dense only (weight 0.5) 0.923 / 0.874; weight 0.7 with these terms 0.957 / 0.917. Every
#: setting with PAPER_WEIGHT 0.6-0.9, BM25_WEIGHT 0.1-0.2 and TERMS_WEIGHT 0.1-0.3 gave 0.947-0.969 on
#: dev and 0.948-0.990 on the held-out set (0.927 before; 0.979 with these weights), so the choice is
#: the middle of a plateau, not a peak.
BM25_WEIGHT = 0.15
TERMS_WEIGHT = 0.2
#: The similarity blend's paper weight (the refusal gate's evidence score, calibrated with it).
SIMILARITY_PAPER_WEIGHT = 0.5


def score_sentences(question: str, hits: list[Hit], embedder: Embedder, idf=None, paper_weight: float = PAPER_WEIGHT,
                    bm25_weight: float = BM25_WEIGHT, terms_weight: float = TERMS_WEIGHT) -> list[Scored]:
    """Score every abstract sentence of the hits against the question (one batched encode).

    ``idf(word) -> float`` weights the question's words in the lexical part of paper relevance
    (the engine passes the BM25 index's IDF; without it every word weighs the same). The weights are
    parameters only so that eval/calibrate_refusal.py --relevance can sweep them.
    """
    pairs = [(i, s) for i, h in enumerate(hits, start=1) for s in split_sentences(h.abstract or h.snippet)]
    if not pairs:
        return []
    import numpy as np

    from rag.answerable import paper_text, term_coverage

    q = np.asarray(embedder.embed_query(question), dtype=np.float32)
    cosines = embedder.embed_sentences([s for _, s in pairs]) @ q  # unit vectors: dot = cosine
    top_bm25 = max((h.bm25 for h in hits), default=0.0) or 1.0
    lexical = [bm25_weight * h.bm25 / top_bm25 + terms_weight * term_coverage(question, paper_text(h), idf)
               for h in hits]
    out = []
    for (i, sentence), cos in zip(pairs, cosines.tolist(), strict=True):
        dense = hits[i - 1].dense or cos
        out.append(Scored(i, sentence, (1 - paper_weight) * cos + paper_weight * dense + lexical[i - 1], cos,
                          (1 - SIMILARITY_PAPER_WEIGHT) * cos + SIMILARITY_PAPER_WEIGHT * dense))
    return out


def compose(scored: list[Scored], max_sentences: int = 3, per_paper: int = 2, margin: float = 0.02) -> list[Scored]:
    """Best sentences overall, at most ``per_paper`` from one paper, in order of relevance.

    A sentence scoring more than ``margin`` below the best one is left out: quoting a weakly related
    paper would cite a title that does not support the answer. Tuned with
    ``python eval/calibrate_refusal.py --compose`` on eval/datasets/dev.jsonl (99 answerable questions,
    gate off): margin 0.08 gave citation precision 0.806 / recall 0.886, margin 0.02 gives 0.894 / 0.866.
    Precision plateaus near 0.91 for every setting (even one sentence): the remaining wrong citations
    come from questions whose best-scoring sentence belongs to a wrong paper, which no composition
    parameter can fix.
    """
    picked: list[Scored] = []
    count: dict[int, int] = {}
    ranked = sorted(scored, key=lambda x: -x.score)
    best = ranked[0].score if ranked else 0.0
    for s in ranked:
        if s.score < best - margin:
            break
        if count.get(s.source, 0) >= per_paper:
            continue
        picked.append(s)
        count[s.source] = count.get(s.source, 0) + 1
        if len(picked) == max_sentences:
            break
    return picked


def compose_for(question: str, hits: list[Hit], scored: list[Scored], **options) -> list[Scored]:
    """:func:`compose` over the papers the question names, if it names any (and any has a sentence).

    "What is HuBERT?" is answered from HuBERT: another abstract's sentence, however similar, would cite
    a paper the question did not ask about. The extractive answer and the rest of a small model's
    answer after its quoted lead (rag.answer.generate) compose the same way.
    """
    from rag.answerable import named_sources

    named = named_sources(question, hits)
    return compose([s for s in scored if s.source in named] or scored, **options)


def render(picked: list[Scored]) -> str:
    return " ".join(f"{s.sentence} [{s.source}]" for s in picked)
