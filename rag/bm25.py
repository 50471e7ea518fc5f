"""The lexical half of hybrid retrieval: llama-index's BM25Retriever (bm25s), persisted beside Chroma.

The BM25 copy records the collection revision it was built from. Ingest bumps the revision before
writing, so a copy built before an interrupted ingest, or by another process against a shared Chroma
server, is detected as stale and rebuilt from Chroma instead of answering from old data.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import shutil
import threading
from pathlib import Path

from rag.config import Settings
from rag.store import Store

_STATE = "paperchat_state.json"
log = logging.getLogger("rag.bm25")


class BM25Index:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.dir = settings.index_dir / "bm25" / settings.collection
        self._retriever = None
        self._revision: int | None = None
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()  # similarity_top_k is retriever state, set per query

    def _read_state(self) -> dict:
        try:
            return json.loads((self.dir / _STATE).read_text())
        except (OSError, ValueError):
            return {}

    def retriever(self):
        """The loaded retriever, rebuilt first when Chroma has changed since it was saved."""
        with self._lock:
            revision = self.store.get_revision()
            if self._retriever is not None and self._revision == revision:
                return self._retriever
            state = self._read_state()
            if state.get("revision") == revision and state.get("collection") == self.settings.collection:
                self._retriever = self._load_or_rebuild(revision, state) if state.get("docs") else None
            else:
                self._retriever = self._build(revision)
            self._revision = revision
            return self._retriever

    def _load(self):
        from llama_index.retrievers.bm25 import BM25Retriever

        return BM25Retriever.from_persist_dir(str(self.dir), show_progress=False)

    def _load_or_rebuild(self, revision: int, state: dict):
        """The saved copy, or a fresh build from Chroma when the files are damaged (truncated, deleted,
        half-copied): the BM25 files are derived data, so a bad copy costs a rebuild, never an answer."""
        try:
            retriever = self._load()
            if int(retriever.bm25.scores.get("num_docs", -1)) != int(state.get("docs", -2)):
                raise ValueError(f"{retriever.bm25.scores.get('num_docs')} documents, the state file says {state.get('docs')}")
            return retriever
        except Exception as exc:  # any load failure of a derived file means "rebuild it"
            log.warning("BM25 index in %s cannot be loaded (%s: %s); rebuilding it from Chroma",
                        self.dir, type(exc).__name__, str(exc)[:200])
            return self._build(revision)

    def rebuild(self) -> None:
        """Discard the saved copy and build it again from Chroma (``rag ingest --rebuild``)."""
        with self._lock:
            shutil.rmtree(self.dir, ignore_errors=True)
            revision = self.store.get_revision()
            self._retriever = self._build(revision)
            self._revision = revision

    def _build(self, revision: int):
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        nodes = []
        for cid, text, meta in self.store.all_chunks():
            keys = list(meta)
            nodes.append(TextNode(id_=cid, text=text, metadata=_slim(meta),
                                  excluded_embed_metadata_keys=keys, excluded_llm_metadata_keys=keys))
        tmp = self.dir.with_name(self.dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        retriever = None
        if nodes:
            retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(self.settings.candidates, len(nodes)),
                                                    language="english")
            retriever.persist(str(tmp), show_progress=False)
        (tmp / _STATE).write_text(json.dumps({"revision": revision, "docs": len(nodes),
                                              "collection": self.settings.collection}))
        # Swap directories so a reader never sees a half-written index.
        old = self.dir.with_name(self.dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.dir.exists():
            self.dir.rename(old)
        tmp.rename(self.dir)
        shutil.rmtree(old, ignore_errors=True)
        return retriever

    def refresh(self) -> None:
        """Called after ingest: rebuild now if Chroma changed, rather than on the next query.

        When the saved copy is current (an unchanged re-ingest) nothing is loaded: loading would import
        llama-index and bm25s just to prove what the state file already says.
        """
        with self._lock:
            revision = self.store.get_revision()
            state = self._read_state()
            if self._revision == revision or (
                state.get("revision") == revision and state.get("collection") == self.settings.collection
            ):
                return
        self.retriever()

    def corrections(self, query: str) -> list[str]:
        """Corpus words for the query's long words that the corpus never uses: "MosiacBERT" -> mosaicbert.

        BM25 scores a misspelled name zero, and title look-ups are where users misspell ("EfficentSAM").
        The candidates are the index's own vocabulary stems of similar length and the same first letter,
        so the look-up stays cheap on a large vocabulary; difflib's ratio >= 0.85 allows about one edit
        in a 7-10 letter word.
        """
        retriever = self.retriever()
        if retriever is None:
            return []
        vocab = retriever.bm25.vocab_dict
        stem = retriever.stemmer.stemWord if retriever.stemmer is not None else (lambda w: w)
        fixes = []
        for word in re.findall(r"\w{6,}", query.casefold()):
            stemmed = stem(word)
            if stemmed in vocab or word in vocab:
                continue
            pool = [v for v in vocab if v[:1] == word[:1] and abs(len(v) - len(stemmed)) <= 2]
            fixes += difflib.get_close_matches(stemmed, pool, n=1, cutoff=0.85)
        return fixes

    def search(self, query: str, k: int, fixes: list[str] | None = None) -> list[tuple[str, str, dict, float]]:
        """(chunk id, text, metadata, score) for the top ``k`` chunks with a positive score.

        ``fixes``: spelling corrections already computed for ``query`` (see :meth:`corrections`); None
        computes them here.
        """
        retriever = self.retriever()
        if retriever is None:
            return []

        fixes = self.corrections(query) if fixes is None else fixes
        if fixes:
            query = f"{query} {' '.join(fixes)}"

        try:
            hits = self._retrieve(retriever, query, k)
        except Exception as exc:  # loaded but unusable (e.g. arrays from different builds): rebuild once
            log.warning("BM25 search failed (%s: %s); rebuilding the index from Chroma", type(exc).__name__, str(exc)[:200])
            self.rebuild()
            retriever = self.retriever()
            if retriever is None:
                return []
            hits = self._retrieve(retriever, query, k)
        return [(h.node.node_id, h.node.get_content(), h.node.metadata, float(h.score)) for h in hits if h.score > 0]


    def _retrieve(self, retriever, query: str, k: int):
        from llama_index.core.schema import QueryBundle

        n_docs = int(retriever.bm25.scores.get("num_docs", 0))
        with self._query_lock:
            retriever.similarity_top_k = max(1, min(k, n_docs))
            return retriever.retrieve(QueryBundle(query))

    def doc_freq(self):
        """(stem -> number of chunks containing it, number of chunks), read from the BM25 index itself.

        bm25s keeps one sparse column per vocabulary stem, so a stem's document frequency is its column
        length: the answerability check gets corpus IDF weights without a second pass over the text.
        """
        retriever = self.retriever()
        if retriever is None:
            return (lambda _stem: 0), 0
        scores = retriever.bm25.scores
        indptr, vocab = scores["indptr"], retriever.bm25.vocab_dict

        def lookup(stem: str) -> int:
            i = vocab.get(stem)
            return 0 if i is None else int(indptr[i + 1] - indptr[i])

        return lookup, int(scores.get("num_docs", 0))


def _slim(meta: dict) -> dict:
    """Drop llama-index's own serialisation keys that Chroma returns alongside our metadata."""
    return {k: v for k, v in meta.items() if not k.startswith("_") and k not in ("doc_id", "document_id", "ref_doc_id")}


def clear(settings: Settings) -> None:
    shutil.rmtree(Path(settings.index_dir) / "bm25" / settings.collection, ignore_errors=True)
