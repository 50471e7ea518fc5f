"""Paraphrase retrieval trials (issue 12): pseudo-relevance feedback and a second dense model beside the product.

    RAG_INDEX_DIR=/tmp/prf-index nice -n 10 python tools/compare_retrieval.py \
        --mpnet /tmp/prf-mpnet/all-mpnet-base-v2 --vectors /tmp/prf-mpnet/vectors.npz --out /tmp/prf-out

Scores the answerable questions of eval/datasets/bank.jsonl per split and kind (hit@1, hit@5, MRR over a
10-paper ranking, by normalised title as ``rag eval`` does) for: the product's hybrid search; RM3-style
expansion of its BM25 query from the top-m fused papers (m, n terms and the weight chosen on TRAIN by MRR);
all-mpnet-base-v2 alone, with BM25, and with MiniLM + BM25 (RRF with the product's constant).

The variants reuse the product's own lists (``engine.retriever`` dense / lexical / title) and swap one of
them, so a difference is the variant's and not a re-implementation's: the re-fused product lists are checked
against ``Engine.search`` for every question and the mismatches counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Engine  # noqa: E402
from rag.evaluation.dataset import load_dataset  # noqa: E402
from rag.evaluation.split import split_of  # noqa: E402
from rag.terms import split_spellings  # noqa: E402
from rag.text import normalize_title  # noqa: E402
from tools.embed_cost import load_avg  # noqa: E402
from tools.retrieval_variants import (  # noqa: E402
    Chunks,
    DenseIndex,
    Ranked,
    collapse,
    expansion_terms,
    rm3_scores,
    rrf,
)

DEPTH = 10  # ranking depth, as rag eval searches with k=max(10, k)
GRID = {"m": [1, 3, 5, 10], "n": [5, 10, 20, 30], "lam": [0.1, 0.2, 0.3, 0.5, 0.7]}


@dataclass
class Question:
    id: str
    kind: str
    split: str
    text: str
    expected: set[str]
    lists: dict[str, Ranked] = field(default_factory=dict)
    base_scores: np.ndarray | None = None  # BM25 of the product's lexical query over every chunk
    ms: dict[str, float] = field(default_factory=dict)


class Trial:
    """The engine, the chunks of its index and the caches the variants share."""

    def __init__(self, engine: Engine) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.engine = engine
        s = engine.settings
        self.rrf_k = s.rrf_k
        self.n = max(s.candidates, DEPTH * 4)  # chunks per list, as Retriever.search fetches for k=DEPTH
        self.chunks = Chunks.from_journal(Path(s.index_dir) / "bm25" / s.collection / "journal.sqlite")
        self.position = {cid: i for i, cid in enumerate(self.chunks.ids)}
        self.titles = {self.chunks.paper(i): str(m.get("title", "")) for i, m in enumerate(self.chunks.metas)}
        papers = self.chunks.papers()
        self.paper_row = {pid: i for i, pid in enumerate(papers)}
        self.tfidf = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", sublinear_tf=True)
        self.doc_matrix = self.tfidf.fit_transform(list(papers.values())).tocsr()
        self.vocabulary = self.tfidf.get_feature_names_out()
        self.analyze = self.tfidf.build_analyzer()
        self.term_cache: dict[str, np.ndarray] = {}

    def bm25_vector(self, query: str, fixes: list[str]) -> np.ndarray:
        out = np.zeros(len(self.chunks.ids))
        for cid, _text, _meta, score in self.engine.bm25.search(query, len(out), fixes):
            out[self.position[cid]] = score
        return out

    def term_scores(self, term: str, cache: bool = True) -> np.ndarray:
        if not cache:
            return self.bm25_vector(term, [])
        if term not in self.term_cache:
            self.term_cache[term] = self.bm25_vector(term, [])
        return self.term_cache[term]

    def product_lists(self, q: Question) -> None:
        """The three lists Retriever.search fuses in hybrid mode, rebuilt from its public parts."""
        engine, text = self.engine, self.engine.clean_question(q.text)
        fixes = engine.bm25.corrections(text)
        extra = split_spellings(text)
        lexq = f"{text} {' '.join(extra)}" if extra else text
        dense = engine.retriever.dense(text, self.n)
        lexical = engine.retriever.lexical(lexq, self.n, None, fixes)
        titled = engine.retriever.titled(fixes, dense + lexical) if fixes else []
        q.lists = {name: collapse([(c.meta.get("paper_id") or c.chunk_id.split(":")[0], c.score) for c in chunks])
                   for name, chunks in (("dense", dense), ("bm25", lexical), ("title", titled))}
        q.base_scores = self.bm25_vector(lexq, fixes)

    def fuse(self, q: Question, swap: dict[str, Ranked] | None = None, add: list[Ranked] | None = None) -> list[str]:
        lists = {**q.lists, **(swap or {})}
        ranked = [lists["dense"], lists["bm25"], lists["title"], *(add or [])]
        return rrf(ranked, self.rrf_k, tiebreak=q.lists["dense"])[:DEPTH]

    def prf(self, q: Question, m: int, n: int, lam: float, cache: bool = True) -> list[str]:
        """The product's fusion with its BM25 list replaced by the RM3-expanded one."""
        feedback = self.fuse(q)[:m]
        rows = self.doc_matrix[[self.paper_row[p] for p in feedback]].toarray()
        query_terms = self.analyze(q.text)
        terms = expansion_terms(rows, self.vocabulary, set(query_terms), n)
        scores = rm3_scores(q.base_scores, {t: self.term_scores(t, cache) for t in terms}, terms, lam, len(query_terms))
        top = [int(i) for i in np.argsort(-scores, kind="stable")[: self.n] if scores[i] > 0]
        lexical = collapse([(self.chunks.paper(i), float(scores[i])) for i in top])
        return self.fuse(q, swap={"bm25": lexical})


def load_questions(dataset: Path) -> list[Question]:
    return [Question(item.id, item.kind or "?", split_of(item.expected_titles, item.id), item.question, item.expected_keys)
            for item in load_dataset(dataset) if item.expected_titles]


def metrics(rows: list[tuple[Question, list[str]]]) -> dict[str, float]:
    hit1 = hit5 = rr = 0.0
    for q, ranked in rows:
        ranks = [i for i, key in enumerate(ranked, start=1) if key in q.expected]
        hit1 += bool(ranks and ranks[0] == 1)
        hit5 += bool(ranks and ranks[0] <= 5)
        rr += 1.0 / ranks[0] if ranks else 0.0
    n = len(rows) or 1
    return {"n": len(rows), "hit@1": hit1 / n, "hit@5": hit5 / n, "mrr": rr / n}


def score(questions: list[Question], rankings: dict[str, list[str]], titles: dict[str, str]) -> dict:
    """{split: {kind or "all": metrics}} of one variant; ``rankings`` maps question id -> paper ids."""
    keyed = {qid: [normalize_title(titles[p]) for p in ranked] for qid, ranked in rankings.items()}
    out: dict[str, dict] = {}
    for split in ("test", "train"):
        rows = [(q, keyed[q.id]) for q in questions if q.split == split]
        out[split] = {"all": metrics(rows)}
        for kind in sorted({q.kind for q, _ in rows}):
            out[split][kind] = metrics([(q, r) for q, r in rows if q.kind == kind])
    return out


def choose_prf(trial: Trial, questions: list[Question]) -> tuple[tuple[int, int, float], list[dict]]:
    """The grid point with the best train MRR over all answerable questions (ties: paraphrase MRR, then the
    smaller expansion). Only train questions are scored here."""
    train = [q for q in questions if q.split == "train"]
    grid = []
    for m in GRID["m"]:
        for n in GRID["n"]:
            for lam in GRID["lam"]:
                ranked = {q.id: trial.prf(q, m, n, lam) for q in train}
                s = score(train, ranked, trial.titles)["train"]
                grid.append({"m": m, "n": n, "lam": lam, "mrr": s["all"]["mrr"], "hit@5": s["all"]["hit@5"],
                             "para_mrr": s["paraphrase"]["mrr"], "para_hit@5": s["paraphrase"]["hit@5"]})
    grid.sort(key=lambda g: (-g["mrr"], -g["para_mrr"], g["n"], g["lam"], g["m"]))
    best = grid[0]
    return (best["m"], best["n"], best["lam"]), grid


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


def main() -> None:
    from tools.compare_report import markdown
    from tools.embed_cost import alternating_costs, dense_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "eval/datasets/bank.jsonl")
    parser.add_argument("--mpnet", type=Path, default=None, help="all-mpnet-base-v2 directory (sentence-transformers)")
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/prf-mpnet/vectors.npz"),
                        help="mpnet chunk vectors: reused when present, else embedded (and timed) and saved")
    parser.add_argument("--cost-sample", type=int, default=100,
                        help="chunk texts embedded by each model in turn for the ingest cost (0: skip)")
    parser.add_argument("--cost-rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("out/compare_retrieval"))
    args = parser.parse_args()

    engine = Engine.from_settings(llm="extractive")
    engine.search("warm up the dense and lexical indexes", k=DEPTH)
    trial = Trial(engine)
    questions = load_questions(args.dataset)
    costs: dict = {"load_start": load_avg(), "chunks": len(trial.chunks.ids), "papers": len(trial.titles)}
    rankings: dict[str, dict[str, list[str]]] = {"baseline": {}, "product lists re-fused": {}, "MiniLM (dense list only)": {},
                                                 "BM25 (lexical list only)": {}}
    mismatch = 0
    for q in questions:
        t0 = time.perf_counter()
        hits = engine.search(q.text, k=DEPTH)
        q.ms["baseline"] = (time.perf_counter() - t0) * 1000
        trial.product_lists(q)
        rankings["baseline"][q.id] = [h.paper_id for h in hits]
        rankings["product lists re-fused"][q.id] = trial.fuse(q)
        rankings["MiniLM (dense list only)"][q.id] = q.lists["dense"].papers[:DEPTH]
        rankings["BM25 (lexical list only)"][q.id] = q.lists["bm25"].papers[:DEPTH]
        mismatch += rankings["baseline"][q.id] != rankings["product lists re-fused"][q.id]
    costs["refuse_mismatch"] = mismatch
    costs["questions_with_title_list"] = sum(bool(q.lists["title"].papers) for q in questions)

    (m, n, lam), grid = choose_prf(trial, questions)
    para = max(grid, key=lambda g: (g["para_mrr"], g["mrr"]))  # the second train choice: paraphrase first
    costs["prf_choice"] = {"all": {"m": m, "n": n, "lam": lam}, "paraphrase": {k: para[k] for k in ("m", "n", "lam")}}
    for label, (pm, pn, plam) in (("train MRR", (m, n, lam)), ("train paraphrase MRR", (para["m"], para["n"], para["lam"]))):
        name = f"PRF m={pm} n={pn} lam={plam} (best {label})"
        rankings[name] = {}
        for q in questions:
            t0 = time.perf_counter()
            rankings[name][q.id] = trial.prf(q, pm, pn, plam, cache=False)
            q.ms.setdefault("prf_extra", (time.perf_counter() - t0) * 1000)

    if args.mpnet:
        vectors, model, embed_cost = dense_model(args.mpnet, args.vectors, trial.chunks)
        costs["embed"] = embed_cost
        if args.cost_sample:
            costs["embed_alternating"] = alternating_costs(model, trial.chunks, engine, args.cost_sample, args.cost_rounds)
        index = DenseIndex(trial.chunks, vectors)
        for label in ("mpnet", "mpnet+BM25", "MiniLM+mpnet+BM25"):
            rankings[label] = {}
        for q in questions:
            t0 = time.perf_counter()
            vec = model.encode(engine.clean_question(q.text), normalize_embeddings=True)
            q.ms["mpnet_query"] = (time.perf_counter() - t0) * 1000
            mp = index.search(vec, trial.n)
            rankings["mpnet"][q.id] = mp.papers[:DEPTH]
            rankings["mpnet+BM25"][q.id] = trial.fuse(q, swap={"dense": mp})
            rankings["MiniLM+mpnet+BM25"][q.id] = trial.fuse(q, add=[mp])

    costs["load_end"] = load_avg()
    costs["query_ms_p50"] = {key: p50([q.ms[key] for q in questions if key in q.ms])
                             for key in ("baseline", "prf_extra", "mpnet_query")}
    results = {label: score(questions, ranked, trial.titles) for label, ranked in rankings.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"results": results, "costs": costs, "grid": grid}, indent=1))
    report = markdown(results, costs, grid)
    (args.out / "report.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
