"""Incremental, idempotent ingest: parse -> dedupe -> diff against the index -> chunk -> embed -> upsert.

Ids are stable (``<paper_id>:<chunk>``) and every chunk carries its paper's content hash and chunk
count, so a re-run knows exactly which papers are unchanged, changed, half-written by an interrupted
run, or gone. Unchanged papers are skipped before any embedding, so a re-ingest never loads the model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from rag.embed import WINDOW_TOKENS, Embedder, check_index_embedder
from rag.ingest.parse import ReadLimits, load_corpus
from rag.ingest.text import content_hash
from rag.store import Store
from rag.types import IngestReport, Paper

if TYPE_CHECKING:
    from rag.bm25 import BM25Index, Follower

#: Tokens kept free for [CLS]/[SEP] and the newline between title and text.
_SPECIAL_TOKENS = 3

#: Embeds a stream of text batches, yielding each batch's vectors in order: in this process by default,
#: or on a Ray cluster (rag.ingest.distributed). Everything else about an ingest is the same either way.
BatchEmbedder = Callable[[list[list[str]]], Iterator[list[list[float]]]]


def paper_hash(p: Paper) -> str:
    return content_hash(p.title, p.abstract, p.authors, p.date, p.upvotes, p.url, "|".join(sorted(p.sources)))


def paper_metadata(p: Paper) -> dict:
    """Chunk metadata: Chroma accepts only scalars, so lists are joined and unknowns are sentinels."""
    return {
        "paper_id": p.id,
        "title": p.title,
        "date": p.date.isoformat() if p.date else "",
        "date_num": int(p.date.strftime("%Y%m%d")) if p.date else 0,
        "authors": p.authors if p.authors is not None else -1,
        "upvotes": p.upvotes if p.upvotes is not None else -1,
        "url": p.url,
        "sources": "|".join(p.sources),
        "abstract": p.abstract,
        "hash": paper_hash(p),
    }


def chunk_paper(p: Paper, embedder: Embedder, overlap: int = 32) -> list[str]:
    """Title + abstract, split by llama-index's sentence splitter only when it exceeds the window.

    The title leads every chunk so each embedded piece still says which paper it is about.
    """
    budget = WINDOW_TOKENS - _SPECIAL_TOKENS
    title_tokens = embedder.count_tokens(p.title)
    if title_tokens + embedder.count_tokens(p.abstract) <= budget:
        return [p.abstract]
    from llama_index.core.node_parser import SentenceSplitter

    size = max(64, budget - title_tokens)
    splitter = SentenceSplitter(chunk_size=size, chunk_overlap=min(overlap, size // 4), tokenizer=embedder.tokens)
    return splitter.split_text(p.abstract)


def _nodes_for(p: Paper, chunks: list[str]):
    from llama_index.core.schema import TextNode

    meta = paper_metadata(p)
    nodes = []
    for i, chunk in enumerate(chunks):
        m = {**meta, "chunk": i, "n_chunks": len(chunks)}
        nodes.append(TextNode(
            id_=f"{p.id}:{i}", text=f"{p.title}\n{chunk}", metadata=m,
            excluded_embed_metadata_keys=list(m), excluded_llm_metadata_keys=list(m),
        ))
    return nodes


def plan(papers: list[Paper], table: dict[str, dict], prune: bool,
         scope: set[str] | None = None) -> tuple[list[Paper], list[Paper], int, list[str], set[str]]:
    """Split papers into (new, changed, unchanged count, chunk ids to delete, removed paper ids).

    ``scope``: with ``prune``, only papers whose every source file is in this set may be removed (HTTP
    ingest names its files; one file must not prune the papers of all the others). None: any paper not
    in ``papers`` is removed (``rag ingest --prune``).
    """
    by_paper: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for cid, meta in table.items():
        by_paper[str(meta.get("paper_id", cid.split(":")[0]))].append((cid, meta))
    new, changed, unchanged, stale = [], [], 0, []
    wanted = set()
    for p in papers:
        wanted.add(p.id)
        have = by_paper.get(p.id, [])
        h = paper_hash(p)
        complete = bool(have) and all(m.get("hash") == h for _, m in have) and len(have) == int(have[0][1].get("n_chunks", -1))
        if complete:
            unchanged += 1
        elif have:
            changed.append(p)
            stale += [cid for cid, _ in have]
        else:
            new.append(p)
    def in_scope(chunks: list[tuple[str, dict]]) -> bool:
        sources = {s for _, m in chunks for s in str(m.get("sources", "")).split("|") if s}
        return scope is None or (bool(sources) and sources <= scope)

    removed = {pid for pid, chunks in by_paper.items() if pid not in wanted and in_scope(chunks)} if prune else set()
    for pid in removed:
        stale += [cid for cid, _ in by_paper[pid]]
    return new, changed, unchanged, stale, removed


def ingest(
    paths: Iterable[Path],
    store: Store,
    embedder: Embedder,
    prune: bool = False,
    progress: bool = True,
    limits: ReadLimits | None = None,
    embed_batches: BatchEmbedder | None = None,
    lexical: BM25Index | None = None,
) -> IngestReport:
    """Bring the index in line with ``paths``. Everything is parsed before anything is written.

    ``embed_batches``: where the vectors are computed (default: ``embedder`` in this process).
    ``lexical``: the BM25 index whose journal records every write (its index is re-scored by the caller).
    """
    t0 = time.perf_counter()
    papers, _records = load_corpus(paths, limits)
    return ingest_papers(papers, store, embedder, prune=prune, progress=progress, t0=t0, embed_batches=embed_batches,
                         lexical=lexical)


def ingest_papers(papers: list[Paper], store: Store, embedder: Embedder, prune: bool = False, progress: bool = True,
                  scope: set[str] | None = None, t0: float | None = None,
                  embed_batches: BatchEmbedder | None = None, lexical: BM25Index | None = None) -> IngestReport:
    """Write already-parsed ``papers`` (files or uploaded records); ``scope`` limits pruning (see :func:`plan`)."""
    t0 = time.perf_counter() if t0 is None else t0
    table = store.chunk_table()
    new, changed, unchanged, stale, removed = plan(papers, table, prune, scope)
    report = IngestReport(added=len(new), updated=len(changed), unchanged=unchanged, removed=len(removed))
    todo = new + changed
    if todo or stale:
        # Before anything is deleted: the index must hold this model's vectors (and a remote embedder must answer).
        check_index_embedder(store, embedder, write=bool(todo))
        with writing(store, lexical) as journal:
            store.delete(stale)
            journal.removed(stale)
            _embed_and_write(todo, store, embedder, progress, embed_batches, journal)
    report.chunks = store.count()
    # Derived from the plan instead of re-reading every chunk's metadata (a full scan at 100k papers):
    # what was indexed, minus what was pruned, plus what was added (changed papers were already there).
    indexed = {str(m.get("paper_id", cid.split(":")[0])) for cid, m in table.items()}
    report.papers = len((indexed - removed) | {p.id for p in new})
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


@contextmanager
def writing(store: Store, lexical: BM25Index | None = None) -> Iterator[Follower]:
    """Around every write to the collection: the revision is bumped before the first write and again after
    the last, and the BM25 journal (``lexical``) follows what the block reports.

    Before: every reader's revision check sees the collection changing. After: a BM25 copy another process
    scored mid-way is stale. The journal is told the final revision only when the block ends without an
    exception, so an interrupted write leaves it out of step (rag.bm25.index). The bench's synthetic
    inserts go through here too, so they leave the index as an ingest would.
    """
    from rag.bm25.model import Follower

    with lexical.follow() if lexical is not None else nullcontext(Follower(None)) as journal:
        store.bump_revision()
        yield journal
        journal.done(store.bump_revision())


def _embed_and_write(papers: list[Paper], store: Store, embedder: Embedder, progress: bool,
                     embed_batches: BatchEmbedder | None, journal: Follower) -> None:
    """Embed in model-sized batches and upsert each batch at once, so a kill loses two batches at most.

    Batches are made here, identically for every ``embed_batches``, and written in order: a distributed
    run computes the same vectors from the same batches and leaves the same index as a serial one. Each
    batch is written (Chroma upsert, BM25 journal) on a writer thread while the next one is embedded: the
    upserts cost about a tenth of a bundled-corpus ingest and need not wait for the encoder.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from tqdm import tqdm

    nodes = [n for p in papers for n in _nodes_for(p, chunk_paper(p, embedder))]
    # Similar lengths in one batch means little padding (sentence-transformers sorts the same way inside
    # one encode call). A paper split across batches by a kill is seen as incomplete and redone next run.
    nodes.sort(key=lambda n: len(n.text))
    batch = max(embedder.settings.embed_batch_size, 1) * 4
    parts = [nodes[i : i + batch] for i in range(0, len(nodes), batch)]
    run = embed_batches or (lambda batches: (embedder.embed_texts(texts) for texts in batches))

    def write(part: list) -> None:
        store.add_nodes(part)
        journal.added((n.node_id, n.text, n.metadata) for n in part)  # what Chroma stores (ChromaVectorStore.add)
        bar.update(len(part))

    with (tqdm(total=len(nodes), desc="Embedding", unit="chunk", disable=not progress, leave=False) as bar,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer):
        pending: Future | None = None
        for part, vectors in zip(parts, run([[n.text for n in part] for part in parts]), strict=True):
            for node, vec in zip(part, vectors, strict=True):
                node.embedding = vec
            if pending is not None:
                pending.result()  # in order, and the first failure stops the ingest
            pending = writer.submit(write, part)
        if pending is not None:
            pending.result()
