"""One-off costs of a second dense model for tools/compare_retrieval.py: its corpus vectors (embedded once and
kept in an npz) and the ingest time against MiniLM measured in turns.

The machine is shared, so one model after the other would mostly measure how busy the other tenants were;
embedding the same sample with each model in turn, several rounds, puts both under the same load.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from rag import Engine
from tools.retrieval_variants import Chunks


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def dense_model(path: Path, vectors_path: Path, chunks: Chunks):
    """(chunk vectors, model, costs). The corpus is embedded once, timed, and the vectors and that timing
    kept in ``vectors_path`` for later runs (the ids must match the index's chunks, else it is redone)."""
    from sentence_transformers import SentenceTransformer

    t0 = time.perf_counter()
    model = SentenceTransformer(str(path), device="cpu")
    cost: dict = {"mpnet_load_s": round(time.perf_counter() - t0, 2)}
    if vectors_path.exists():
        data = np.load(vectors_path)
        if [str(i) for i in data["ids"]] == chunks.ids:
            return data["vectors"], model, {**cost, "corpus": json.loads(str(data["cost"])), "vectors": "reused"}
    timed: dict = {"load_before": load_avg(), "texts": len(chunks.texts)}
    t0 = time.perf_counter()
    vectors = model.encode(chunks.texts, batch_size=32, normalize_embeddings=True)
    timed["mpnet_torch_s"] = round(time.perf_counter() - t0, 2)
    timed["load_after"] = load_avg()
    vectors_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(vectors_path, ids=np.array(chunks.ids), vectors=vectors, cost=json.dumps(timed))
    return vectors, model, {**cost, "corpus": timed, "vectors": "embedded in this run"}


def alternating_costs(mpnet, chunks: Chunks, engine: Engine, sample: int, rounds: int) -> dict:
    """Seconds to embed the first ``sample`` chunk texts with mpnet (torch), MiniLM (torch, same settings) and
    the product's ingest path (``Engine.embed``: int8 ONNX for batches over 64), in turns for ``rounds``
    rounds; and query-sized encodes (titles) per model. Medians, with the load average before and after."""
    from sentence_transformers import SentenceTransformer

    minilm = SentenceTransformer(str(engine.embedder.path), device="cpu")
    texts = chunks.texts[:sample]
    jobs = {
        "mpnet_torch": lambda: mpnet.encode(texts, batch_size=32, normalize_embeddings=True),
        "minilm_torch": lambda: minilm.encode(texts, batch_size=32, normalize_embeddings=True),
        "minilm_product": lambda: engine.embed(texts),
    }
    out: dict = {"load_before": load_avg(), "texts": len(texts), "rounds": rounds}
    runs: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            runs[name].append(_seconds(job))
    for name, seconds in runs.items():
        out[f"{name}_s"] = round(statistics.median(seconds), 2)
    titles = [t.split("\n", 1)[0] for t in chunks.texts[:50]]
    for name, encoder in (("mpnet", mpnet), ("minilm", minilm)):
        ms = [1000 * _seconds(lambda e=encoder, t=t: e.encode(t, normalize_embeddings=True)) for t in titles]
        out[f"{name}_torch_query_ms_p50"] = round(statistics.median(ms), 1)
    out["load_after"] = load_avg()
    return out
