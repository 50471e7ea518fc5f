"""Hybrid retrieval: dense (Chroma) + BM25, reciprocal rank fusion, collapsed to one hit per paper.

Fusion is written out here rather than through llama-index's QueryFusionRetriever because we need
both component scores per paper afterwards: the dense cosine and the BM25 score feed the refusal
gate, and the fusion retriever keeps only the fused number. The RRF formula itself is the standard
``sum(1 / (k + rank))``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from rag.answerable import word_runs
from rag.bm25 import BM25Index
from rag.config import RetrieverMode, Settings
from rag.embed import Embedder
from rag.store import Store
from rag.terms import split_spellings
from rag.types import Filters, Hit


@dataclass
class _Chunk:
    chunk_id: str
    text: str
    meta: dict
    score: float


def _chroma_where(filters: Filters | None) -> dict | None:
    if not filters or not (filters.date_from or filters.date_to):
        return None
    clauses: list[dict] = [{"date_num": {"$gt": 0}}]
    if filters.date_from:
        clauses.append({"date_num": {"$gte": int(filters.date_from.strftime("%Y%m%d"))}})
    if filters.date_to:
        clauses.append({"date_num": {"$lte": int(filters.date_to.strftime("%Y%m%d"))}})
    return {"$and": clauses}


def _passes(meta: dict, filters: Filters | None) -> bool:
    if not filters or filters.is_empty():
        return True
    num = int(meta.get("date_num") or 0)
    if filters.date_from and (not num or num < int(filters.date_from.strftime("%Y%m%d"))):
        return False
    if filters.date_to and (not num or num > int(filters.date_to.strftime("%Y%m%d"))):
        return False
    if filters.sources:
        have = set(str(meta.get("sources", "")).split("|"))
        if not have & set(filters.sources):
            return False
    return True


@dataclass(eq=False)
class Retriever:
    settings: Settings
    store: Store
    embedder: Embedder
    bm25: BM25Index

    def dense(self, query: str, k: int, filters: Filters | None = None) -> list[_Chunk]:
        fetch = k * 4 if filters and filters.sources else k
        # No clamp to the collection size: Chroma returns what it has (1000 asked of 699 chunks gives 699,
        # quietly), and counting costs a scan of the collection (about 90 ms at 1M chunks) on every query.
        fetch = max(1, fetch)
        res = self.store.query(self.embedder.embed_query(query), fetch, _chroma_where(filters))
        out = []
        for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                        res["distances"][0], strict=True):
            if _passes(meta, filters):
                out.append(_Chunk(cid, doc, meta, 1.0 - float(dist)))  # cosine distance -> similarity
        return out[:k]

    def lexical(self, query: str, k: int, filters: Filters | None = None, fixes: list[str] | None = None) -> list[_Chunk]:
        fetch = k if not filters or filters.is_empty() else k * 20
        hits = [_Chunk(cid, text, meta, score) for cid, text, meta, score in self.bm25.search(query, fetch, fixes)]
        return [h for h in hits if _passes(h.meta, filters)][:k]

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: RetrieverMode | None = None) -> list[Hit]:
        """The top ``k`` papers for ``query``; each paper once, with its best chunk as evidence."""
        k = k or self.settings.top_k
        mode = mode or self.settings.retriever
        n = max(self.settings.candidates, k * 4)
        spellings = split_spellings(query)  # once: the lexical and the title lists both use them

        def lexical_side() -> tuple[list[str], list[_Chunk]]:
            fixes = self.bm25.corrections(query)  # likewise
            return fixes, self.lexical(_with_spellings(query, spellings), n, filters, fixes)

        if mode == "hybrid":
            # The two halves wait on different native code (ONNX + Chroma's HNSW; numpy over the BM25 matrix),
            # which releases the GIL: side by side they cost the slower one, not the sum (at 1M papers on
            # 2 cores the hybrid p50 was 64 ms one after the other; docs/performance.md has the figures).
            lexical_job = _pool().submit(lexical_side)
            dense = self.dense(query, n, filters)
            fixes, lexical = lexical_job.result()
        else:
            dense = self.dense(query, n, filters) if mode == "dense" else []
            fixes, lexical = lexical_side() if mode == "bm25" else ([], [])
        titled = (self.titled(fixes + _glued_spellings(spellings), dense + lexical, word_runs(query))
                  if mode == "hybrid" else [])
        return fuse(dense, lexical, self.settings.rrf_k, titled)[:k]

    def titled(self, fixes: list[str], candidates: list[_Chunk], runs: Collection[str] = ()) -> list[_Chunk]:
        """Candidates whose title contains a spelling-corrected name of the query (``fixes``), most first.

        A third ranked list for the fusion. A misspelled name ("What does MosiacBERT propose?") is
        found by BM25 only after correction (BM25Index.corrections) and not at all by the dense
        channel, and RRF ranks a paper at the top of one list below papers halfway down both. The
        title list gives it the second vote, and so does a name written apart from its version ("dino v2"
        for DINOv2, glued by :func:`_glued_spellings`) or in parts (``runs``: "mosaic bert" for the title's
        MosaicBERT, "ponder lm 2" for PonderLM-2; two or three adjacent query words squashed, matched only
        against the names a title writes as one word). Other correctly spelled names get no vote: measured on the
        held-out set, boosting every title that shares a name with the question (often a baseline the
        question compares against, such as BERT) lowered MRR from 0.939 to 0.891.
        """
        from rag.answerable import title_names, token_set
        from rag.text import fold

        names = set(fixes)
        if not names and not runs:
            return []
        ranked: dict[str, tuple[int, _Chunk]] = {}
        for chunk in candidates:
            title = str(chunk.meta.get("title", ""))
            words = token_set(fold(title))
            matched = sum(1 for n in names if n in words) + len(title_names(title).intersection(runs))
            pid = str(chunk.meta.get("paper_id") or chunk.chunk_id.split(":")[0])
            if matched and matched > ranked.get(pid, (0, chunk))[0]:
                ranked[pid] = (matched, chunk)
        return [chunk for _, chunk in sorted(ranked.values(), key=lambda mc: -mc[0])]


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """Threads for the lexical half of hybrid searches: one process-wide pool, made on first use."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="bm25-search")


def _glued_spellings(spellings: list[str]) -> list[str]:
    """Of a query's :func:`split_spellings`, its names written apart from their version, glued ("dino v2" ->
    dinov2, "codet5 plus" -> codet5+)."""
    return [s for s in spellings if " " not in s]


def _with_spellings(query: str, spellings: list[str]) -> str:
    """The query plus the other spellings of its glued or split names (``split_spellings``: "olmo2" also as
    "olmo 2", "dino v2" also as "dinov2"): BM25 tokenises "OLMo 2" and "olmo2" differently and would score
    the other form zero."""
    return f"{query} {' '.join(spellings)}" if spellings else query


def fuse(dense: list[_Chunk], lexical: list[_Chunk], rrf_k: int = 60, titled: list[_Chunk] | None = None) -> list[Hit]:
    """Reciprocal rank fusion over papers: each list is first collapsed to papers (best chunk wins)."""
    hits: dict[str, Hit] = {}
    for ranked, kind in ((dense, "dense"), (lexical, "bm25"), (titled or [], "title")):
        seen: set[str] = set()
        rank = 0
        for chunk in ranked:
            pid = str(chunk.meta.get("paper_id") or chunk.chunk_id.split(":")[0])
            if pid in seen:
                continue
            seen.add(pid)
            rank += 1
            hit = hits.get(pid)
            if hit is None:
                hit = hits[pid] = _hit_from(chunk, pid)
            hit.score += 1.0 / (rrf_k + rank)
            if kind == "dense":
                hit.dense = chunk.score
            elif kind == "bm25":
                hit.bm25 = chunk.score
                if not hit.dense:
                    hit.snippet = _body(chunk.text)
    return sorted(hits.values(), key=lambda h: (-h.score, -h.dense))


def paper_hit(store: Store, title: str) -> Hit | None:
    """The paper titled exactly ``title`` as a Hit (its whole abstract is in every chunk's metadata), or None:
    searching for a generic title ("Exploring the Limits of Weakly Supervised Pretraining") may not find it."""
    found = store.titled(title)
    if not found:
        return None
    cid, text, meta = found
    return _hit_from(_Chunk(cid, text, meta, 0.0), str(meta.get("paper_id") or cid.split(":")[0]))


def pin(candidates: list[Hit], titles: Collection[str], k: int, lookup: Callable[[str], Hit | None]) -> list[Hit]:
    """``candidates`` with the papers ``titles`` name among the first ``k`` (``lookup`` finds those not
    retrieved): placed last of them, so the refusal gate and the ranking still read the search's own best
    papers first."""
    retrieved = {h.title for h in candidates}
    papers = [p for p in (lookup(t) for t in titles if t not in retrieved) if p]
    keep = max(k - len(papers), 0)
    return candidates[:keep] + papers + candidates[keep:] if papers else candidates


def _body(text: str) -> str:
    """Chunk text without its leading title line."""
    return text.split("\n", 1)[1] if "\n" in text else text


def _hit_from(chunk: _Chunk, pid: str) -> Hit:
    m = chunk.meta
    authors = int(m.get("authors", -1))
    upvotes = int(m.get("upvotes", -1))
    return Hit(
        paper_id=pid,
        title=str(m.get("title", "")),
        score=0.0,
        snippet=_body(chunk.text),
        date=str(m.get("date", "")),
        authors=authors if authors >= 0 else None,
        upvotes=upvotes if upvotes >= 0 else None,
        url=str(m.get("url", "")),
        sources=[s for s in str(m.get("sources", "")).split("|") if s],
        abstract=str(m.get("abstract", "")),
    )
