"""The same-work anchor: ``rag ingest`` beside the plainest ways to do the same job, in one run.

Three ways to turn the bundled corpus into a searchable vector index, timed on the same machine at
the same moment, so the ratio means something even when the absolute seconds drift with the load:

* a plain sentence-transformers ``encode`` of exactly the texts the pipeline embeds (title + chunk,
  same batch size): the floor for the embedding work alone;
* llama-index's default pipeline: ``VectorStoreIndex.from_documents`` into a Chroma collection with
  the same MiniLM through ``HuggingFaceEmbedding``, every llama-index default left as it is
  (1024-token chunks, so one node per abstract, cut at the model's 256 word pieces; batches of 10);
* ``Engine.ingest`` into a fresh index: what ``rag ingest`` runs (parse, chunk to the 256-piece window,
  embed, upsert with hashes, BM25 build).

Each alternative runs once before and once after the ingest and the two are averaged: the load on a
shared machine drifts over minutes, and timing one side first would bias the ratio.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from rag.bench.common import bench_settings, child_env, percentiles, rag_command
from rag.config import Settings


def corpus_texts(settings: Settings, paths: list[Path]) -> tuple[int, list[str]]:
    """(papers, texts): exactly the title + chunk texts the ingest pipeline embeds."""
    from rag.embed import Embedder
    from rag.ingest.parse import load_corpus
    from rag.ingest.pipeline import chunk_paper

    papers, _ = load_corpus(paths)
    embedder = Embedder(settings)
    return len(papers), [f"{p.title}\n{c}" for p in papers for c in chunk_paper(p, embedder)]


def _timed(work) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of ``work()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = work()
    return time.perf_counter() - t0, time.process_time() - c0, out


def raw_encode(model_path: Path, texts: list[str], settings: Settings) -> None:
    """Model load + ``SentenceTransformer.encode`` of ``texts``."""
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(str(model_path), device=settings.embed_device).encode(texts, batch_size=settings.embed_batch_size)


def llama_index_default(model_path: Path, paths: list[Path], chroma_dir: Path):
    """Read the corpus and build llama-index's default vector index into a new Chroma collection."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.ingest.parse import load_corpus

    papers, _ = load_corpus(paths)
    client = chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("llamaindex"))
    return VectorStoreIndex.from_documents([Document(text=f"{p.title}\n{p.abstract}") for p in papers],
                                           storage_context=StorageContext.from_defaults(vector_store=store),
                                           embed_model=HuggingFaceEmbedding(model_name=str(model_path)))


def retriever_latency(index, queries: list[str], k: int = 5, warmup: int = 5) -> dict[str, float]:
    """Warm top-``k`` latency of llama-index's default retriever (query embedding included)."""
    retriever = index.as_retriever(similarity_top_k=k)
    for q in queries[:warmup]:
        retriever.retrieve(q + " warm")
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        retriever.retrieve(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return percentiles(ms)


def reingest_seconds(settings: Settings, paths: list[Path], index_dir: Path) -> float:
    """``rag ingest --json`` in a new process on the unchanged corpus (what a user types a second time)."""
    t0 = time.perf_counter()
    out = subprocess.run([*rag_command(), "ingest", *map(str, paths), "--json"], env=child_env(settings, index_dir, "bench"),
                         capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"re-ingest failed: {out.stderr.strip()[-500:]}")
    again = json.loads(out.stdout)
    if again.get("added") or again.get("updated"):
        raise RuntimeError(f"re-ingest of an unchanged corpus changed the index: {again}")
    return seconds


def bench_ingest(settings: Settings, paths: list[Path], workdir: Path, queries: list[str]) -> tuple[dict, list[str], Path]:
    """(figures, notes, index dir of the ingested corpus) for the anchor, in the documented JSON shape."""
    import llama_index.core  # noqa: F401  import costs paid once, outside every timing
    import sentence_transformers  # noqa: F401

    from rag.engine import Engine

    index_dir = workdir / "ingest"
    engine = Engine(bench_settings(settings, index_dir, "bench"))
    n_papers, texts = corpus_texts(engine.settings, paths)
    model_path = engine.embedder.path
    resolved = engine.embedder.backend  # a first-time ONNX export happens here, outside the timing
    ingest_backend = engine.embedder.ingest_backend  # a first-time int8 quantization happens here, likewise

    raw1, raw1_cpu, _ = _timed(lambda: raw_encode(model_path, texts, settings))
    li1, li1_cpu, _ = _timed(lambda: llama_index_default(model_path, paths, workdir / "llamaindex-1"))
    ingest_s, ingest_cpu, report = _timed(lambda: engine.ingest(paths))
    li2, li2_cpu, index = _timed(lambda: llama_index_default(model_path, paths, workdir / "llamaindex-2"))
    raw2, raw2_cpu, _ = _timed(lambda: raw_encode(model_path, texts, settings))
    raw_s, raw_cpu = (raw1 + raw2) / 2, (raw1_cpu + raw2_cpu) / 2
    li_s, li_cpu = (li1 + li2) / 2, (li1_cpu + li2_cpu) / 2
    li_query = retriever_latency(index, queries)
    figures = {
        "papers": report.papers or n_papers,
        "seconds": round(ingest_s, 2),
        "raw_encode_seconds": round(raw_s, 2),
        "ratio": round(ingest_s / raw_s, 3),
        "llama_index_seconds": round(li_s, 2),
        "llama_index_ratio": round(ingest_s / li_s, 3),
        "llama_index_cpu_ratio": round(ingest_cpu / li_cpu, 3),  # what the ratio is when the cores are shared
        "llama_index_query_p50_ms": li_query["p50_ms"],
        "reingest_seconds": round(reingest_seconds(settings, paths, index_dir), 2),
    }
    notes = [
        f"ingest: {len(texts)} chunks embedded, embed backend {settings.embed_backend} ({resolved} for queries, "
        f"{ingest_backend} for ingest batches); raw encode: SentenceTransformer.encode(batch_size={settings.embed_batch_size})",
        f"raw encode {raw1:.1f} s before and {raw2:.1f} s after the ingest; llama-index default {li1:.1f} s and "
        f"{li2:.1f} s ({n_papers} documents, one node each); CPU seconds: ingest {ingest_cpu:.1f}, raw encode "
        f"{raw_cpu:.1f}, llama-index {li_cpu:.1f}",
        f"llama-index default retriever, warm top-5 over {len(queries)} queries: p50 {li_query['p50_ms']} ms, "
        f"p95 {li_query['p95_ms']} ms",
    ]
    return figures, notes, index_dir
