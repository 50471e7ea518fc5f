"""ONNX vs torch embedding backend: retrieval quality on the dev set and query-embedding speed.

Usage: .venv/bin/python tools/onnx_quality.py [INDEX_DIR]   (default: RAG_INDEX_DIR / .rag/index)
Prints recall@5 / MRR of the expected titles (hybrid retrieval) for both backends, how often the
top-5 lists are identical, the largest vector difference, and query-embedding p50 for each backend.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from rag import Engine, get_settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    overrides = {"index_dir": Path(sys.argv[1])} if len(sys.argv) > 1 else {}
    rows = [json.loads(line) for line in (ROOT / "eval" / "datasets" / "dev.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("expected_titles")]
    result, tops = {}, {}
    for backend in ("torch", "onnx"):
        engine = Engine(get_settings(**overrides, embed_backend=backend, llm="extractive"))
        engine.search("warm up")
        hits, rr, ms, top = 0, 0.0, [], []
        for r in rows:
            t0 = time.perf_counter()
            engine.embedder.embed_query(r["question"])
            ms.append((time.perf_counter() - t0) * 1000)
            titles = [h.title for h in engine.search(r["question"], k=5)]
            top.append(titles)
            ranks = [i for i, t in enumerate(titles, 1) if t in r["expected_titles"]]
            hits += bool(ranks)
            rr += 1 / ranks[0] if ranks else 0
        tops[backend] = top
        result[backend] = {"recall@5": round(hits / len(rows), 3), "mrr@5": round(rr / len(rows), 3),
                           "query_embed_p50_ms": round(statistics.median(ms), 2)}
    same = sum(a == b for a, b in zip(tops["torch"], tops["onnx"], strict=True))
    qs = [r["question"] for r in rows]
    t, o = (Engine(get_settings(**overrides, embed_backend=backend)).embed(qs) for backend in ("torch", "onnx"))
    diff = max(abs(x - y) for a, b in zip(t, o, strict=True) for x, y in zip(a, b, strict=True))
    result["questions"] = len(rows)
    result["identical_top5_lists"] = same
    result["max_abs_vector_diff"] = float(f"{diff:.2e}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
