"""Synthetic indexes of any size, made from a real one without embedding anything.

Embedding 1M texts on two CPU cores would take days, so each synthetic paper recombines 1-3 real
abstract sentences from each of 2-3 real papers, and its vector is the mean of those papers' real
vectors plus a little noise: text and vector agree, and the nearest-neighbour structure stays
realistic. The vectors go straight into the engine's Chroma collection, in the largest batches Chroma
accepts, and the BM25 index is then built by the engine's own code, which is what a real ingest runs.
"""

from __future__ import annotations

import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rag.bench.common import bench_settings, load_line
from rag.config import Settings
from rag.text import split_sentences

#: Standard deviation of the noise added to each synthetic vector (before normalising).
NOISE = 0.02
NOTE = ("sizes other than the corpus use synthetic papers: real abstract sentences recombined, vectors inserted "
        "directly (mean of the source papers' real vectors + noise), because embedding them would take days on 2 cores")


def _sources(settings: Settings, source_index: Path, collection: str):
    """(vectors, sentences per paper) of the first chunk of every real paper in ``source_index``."""
    import numpy as np

    from rag.engine import Engine

    real = Engine(bench_settings(settings, source_index, collection)).store.collection.get(
        include=["embeddings", "metadatas"], where={"chunk": 0})
    sentences = [split_sentences(str(m.get("abstract", ""))) or [str(m.get("abstract", ""))] for m in real["metadatas"]]
    if not sentences:
        raise RuntimeError(f"no papers in collection {collection!r} at {source_index} to build synthetic papers from")
    return np.asarray(real["embeddings"], dtype=np.float32), sentences


def _papers(start: int, n: int, vectors, sentences: list[list[str]], rng, pick: random.Random):
    """One batch of synthetic papers as Chroma ``add`` arguments (vectors computed for the whole batch)."""
    import numpy as np

    ids, docs, metas = [], [], []
    parents = np.full((n, 3), -1, dtype=np.int64)
    population = range(len(sentences))
    for row, i in enumerate(range(start, start + n)):
        chosen = pick.sample(population, k=min(len(sentences), pick.randint(2, 3)))
        parents[row, : len(chosen)] = chosen
        picked = [s for j in chosen for s in pick.sample(sentences[j], k=min(len(sentences[j]), pick.randint(1, 3)))]
        abstract = " ".join(picked)
        title = f"Synthetic {i}: " + " ".join(picked[0].split()[:8])
        pid = f"syn{i:07d}"
        ids.append(f"{pid}:0")
        docs.append(f"{title}\n{abstract}")
        metas.append({"paper_id": pid, "title": title, "date": "2025-01-01", "date_num": 20250101, "authors": -1,
                      "upvotes": -1, "url": "", "sources": "synthetic", "abstract": abstract, "hash": pid,
                      "chunk": 0, "n_chunks": 1})
    used = parents >= 0
    summed = (vectors[np.where(used, parents, 0)] * used[..., None]).sum(axis=1)
    embs = summed / used.sum(axis=1, keepdims=True) + rng.normal(0, NOISE, summed.shape).astype(np.float32)
    embs /= np.linalg.norm(embs, axis=1, keepdims=True)
    return {"ids": ids, "documents": docs, "metadatas": metas, "embeddings": embs}


def build_synthetic(settings: Settings, source_index: Path, size: int, workdir: Path, seed: int = 0,
                    source_collection: str = "bench", progress: bool = False, batch: int | None = None,
                    cache: Path | None = None) -> tuple[Path, dict]:
    """An index of ``size`` synthetic papers made from the real index at ``source_index``.

    Returns (index dir, build figures). ``batch``: papers per Chroma ``add`` (default: the most Chroma
    accepts). The next batch is generated, and its BM25 tokens journaled, while Chroma inserts the previous
    one (Chroma's native code does not hold Python's lock), as an ingest journals what it writes.
    ``cache``: keep the index in ``cache/synthetic-<size>`` and reuse it next time (its insert figures are
    the ones measured when it was built; the BM25 index is scored again from its journal and timed).
    """
    from rag.engine import Engine

    if cache is not None:
        kept = _reuse(settings, cache / f"synthetic-{size}", size, seed)
        if kept is not None:
            return kept
    index_dir = (cache or workdir) / f"synthetic-{size}"
    vectors, sentences = _sources(settings, source_index, source_collection)
    engine = Engine(bench_settings(settings, index_dir, "synthetic"))
    insert_s = _insert(engine, size, vectors, sentences, seed, batch, progress)
    bm25_s = _score(engine)
    info = {"size": size, "seed": seed, "parents": len(sentences), "batch": batch or engine.store.max_batch_size(),
            "insert_s": round(insert_s, 1), "bm25_build_s": round(bm25_s, 1), "reused": False,
            "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (index_dir / "build.json").write_text(json.dumps(info))
    return index_dir, info


def _insert(engine, size: int, vectors, sentences, seed: int, batch: int | None, progress: bool) -> float:
    """Chroma inserts with the BM25 journal following them, as in an ingest; returns the wall time."""
    import numpy as np

    from rag.ingest.pipeline import writing

    store = engine.store
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    step = batch or store.max_batch_size()
    t0 = time.perf_counter()
    with writing(store, engine.bm25) as journal, ThreadPoolExecutor(max_workers=1) as pool:  # as an ingest writes
        pending = None
        for start in range(0, size, step):
            papers = _papers(start, min(step, size - start), vectors, sentences, rng, pick)
            if pending is not None:
                pending.result()
            pending = pool.submit(store.collection.add, **papers)
            journal.added(zip(papers["ids"], papers["documents"], papers["metadatas"], strict=True))
            done = start + len(papers["ids"])
            if progress and (done // 50_000 != start // 50_000 or done == size):
                rate = done / (time.perf_counter() - t0)
                print(f"  synthetic {size:,}: {done:,} papers inserted, {rate:.0f}/s; {load_line()}",
                      file=sys.stderr, flush=True)
        if pending is not None:
            pending.result()
    return time.perf_counter() - t0


def _score(engine) -> float:
    """The BM25 build that follows an ingest (``engine.bm25.refresh()``: score from the journal, save), timed alone."""
    t0 = time.perf_counter()
    engine.bm25.refresh()
    return time.perf_counter() - t0


def _reuse(settings: Settings, index_dir: Path, size: int, seed: int) -> tuple[Path, dict] | None:
    """A kept synthetic index of this size and seed, its BM25 index scored again (timed); None if there is none."""
    import shutil

    from rag.engine import Engine

    try:
        info = json.loads((index_dir / "build.json").read_text())
    except (OSError, ValueError):
        return None
    if info.get("size") != size or info.get("seed") != seed:
        return None
    engine = Engine(bench_settings(settings, index_dir, "synthetic"))
    if not engine.bm25.journal.path.exists():  # kept without a journal: fill it from Chroma once, and say so
        t0 = time.perf_counter()
        engine.bm25.rebuild()
        info["journal_from_chroma_s"] = round(time.perf_counter() - t0, 1)
        (index_dir / "build.json").write_text(json.dumps(info))
    shutil.rmtree(engine.bm25.index_dir, ignore_errors=True)  # the build below is the one measured
    engine = Engine(bench_settings(settings, index_dir, "synthetic"))  # one that has not just scored it
    return index_dir, {**info, "bm25_build_s": round(_score(engine), 1), "reused": True}
