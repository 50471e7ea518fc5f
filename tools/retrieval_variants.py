"""Retriever variants for tools/compare_retrieval.py: paper-level RRF, RM3-style lexical expansion, a second
dense model over the chunks of an index.

Kept apart from the comparison script so the pieces that decide a ranking (fusion, expansion weights) are
small pure functions a test can pin down, and the script only orchestrates and reports.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Ranked:
    """A ranked list collapsed to papers: paper ids best first, and the score of each paper's best chunk."""

    papers: list[str]
    scores: dict[str, float]


def collapse(pairs: list[tuple[str, float]]) -> Ranked:
    """(paper id, score) of chunks, best first -> each paper once at the rank of its best chunk, as
    rag.retrieve.fuse collapses every list before fusing."""
    papers: list[str] = []
    scores: dict[str, float] = {}
    for pid, score in pairs:
        if pid not in scores:
            scores[pid] = score
            papers.append(pid)
    return Ranked(papers, scores)


def rrf(lists: list[Ranked], k: int, weights: list[float] | None = None, tiebreak: Ranked | None = None) -> list[str]:
    """Reciprocal rank fusion, ``sum(w / (k + rank))``; ties go to the higher ``tiebreak`` score (the product
    breaks them by dense cosine)."""
    weights = weights or [1.0] * len(lists)
    fused: dict[str, float] = {}
    for ranked, weight in zip(lists, weights, strict=True):
        for rank, pid in enumerate(ranked.papers, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    second = tiebreak.scores if tiebreak else {}
    return sorted(fused, key=lambda pid: (-fused[pid], -second.get(pid, 0.0)))


def expansion_terms(doc_rows: np.ndarray, vocabulary: np.ndarray, exclude: set[str], n: int) -> dict[str, float]:
    """The ``n`` highest-weighted terms of the feedback documents, weights summing to 1 (RM3's feedback model).

    ``doc_rows``: the L2-normalised tf-idf rows of the top-m papers (dense, m x vocabulary). A term's weight
    is its mean tf-idf over them, so a term frequent in one paper but rare in the corpus and a term shared by
    all the feedback papers both rank high. Terms already in the query (``exclude``) add nothing new.
    """
    if n <= 0 or doc_rows.size == 0:
        return {}
    weight = doc_rows.mean(axis=0)
    order = np.argsort(-weight, kind="stable")
    terms: dict[str, float] = {}
    for i in order:
        if weight[i] <= 0 or len(terms) == n:
            break
        term = str(vocabulary[i])
        if term not in exclude:
            terms[term] = float(weight[i])
    total = sum(terms.values())
    return {t: w / total for t, w in terms.items()} if total else {}


def rm3_scores(base: np.ndarray, term_scores: dict[str, np.ndarray], terms: dict[str, float], lam: float,
               query_len: int) -> np.ndarray:
    """Chunk scores for the interpolated query ``(1 - lam) * q + lam * feedback``.

    BM25 sums over query terms, so the original query's score is ``query_len`` terms of weight
    ``1 / query_len`` each; dividing through by ``(1 - lam) / query_len`` keeps the original score as is and
    adds ``lam / (1 - lam) * query_len * sum_t p(t) * BM25(t)``: same ranking, no rescaling of ``base``.
    """
    if not terms or lam <= 0:
        return base
    extra = np.zeros_like(base)
    for term, p in terms.items():
        extra += p * term_scores[term]
    return base + lam / (1.0 - lam) * max(query_len, 1) * extra


@dataclass
class Chunks:
    """Every chunk of an index as the BM25 journal stores it (id, text, metadata), in journal order."""

    ids: list[str]
    texts: list[str]
    metas: list[dict]

    @classmethod
    def from_journal(cls, path: Path) -> Chunks:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT id, text, meta FROM chunks ORDER BY row").fetchall()
        return cls([r[0] for r in rows], [r[1] for r in rows], [json.loads(r[2]) for r in rows])

    def paper(self, i: int) -> str:
        return str(self.metas[i].get("paper_id") or self.ids[i].split(":")[0])

    def papers(self) -> dict[str, str]:
        """paper id -> title + abstract, the text a paper's feedback terms are drawn from."""
        return {self.paper(i): f"{m.get('title', '')}\n{m.get('abstract', '')}" for i, m in enumerate(self.metas)}


class DenseIndex:
    """Exact cosine search over chunk vectors held in memory (at 699 chunks a brute-force dot product is
    faster than any ANN index and has no recall loss, so the comparison measures the model alone)."""

    def __init__(self, chunks: Chunks, vectors: np.ndarray) -> None:
        self.chunks = chunks
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def search(self, query_vector: np.ndarray, n: int) -> Ranked:
        sims = self.vectors @ (query_vector / np.linalg.norm(query_vector))
        top = np.argsort(-sims, kind="stable")[:n]
        return collapse([(self.chunks.paper(int(i)), float(sims[i])) for i in top])
