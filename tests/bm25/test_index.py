"""The lean lexical index: llama-index BM25Retriever's rankings, without holding the corpus in memory."""

from __future__ import annotations

import json
import shutil

import pytest

from rag import Engine
from tests.conftest import make_settings

QUERIES = ["open-vocabulary detection with image-text pretraining", "MediSwift sparse pretraining FLOPs",
           "What does the MosiacBERT paper propose?", "speech recognition", "the of and", "diffusion transformer video"]


@pytest.fixture(scope="module")
def reference(engine):
    """llama-index's BM25Retriever over the same chunks: the index this one replaced."""
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [TextNode(id_=cid, text=text) for cid, text, _ in engine.store.all_chunks()]
    return BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=40, language="english")


@pytest.mark.parametrize("query", QUERIES)
def test_same_ranking_and_scores_as_llama_index(engine, reference, query):
    from llama_index.core.schema import QueryBundle

    fixes = engine.bm25.corrections(query)
    full = f"{query} {' '.join(fixes)}" if fixes else query
    expected = [(h.node.node_id, round(h.score, 4)) for h in reference.retrieve(QueryBundle(full)) if h.score > 0]
    got = engine.bm25.search(query, 40, fixes)
    assert [(cid, round(score, 4)) for cid, _, _, score in got] == expected
    table = engine.store.chunk_table()
    for cid, text, meta, _ in got[:5]:  # texts and metadata are the chunk's own
        assert meta["paper_id"] == table[cid]["paper_id"] and text.startswith(meta["title"])


def test_corrections_and_doc_freq_read_the_index(engine, reference):
    assert engine.bm25.corrections("What does the MosiacBERT paper propose?") == ["mosaicbert"]
    lookup, n_docs = engine.bm25.doc_freq()
    assert n_docs == engine.store.count()
    vocab = reference.bm25.vocab_dict
    indptr = reference.bm25.scores["indptr"]
    for stem in ("model", "detect", "languag", "diffus"):
        assert lookup(stem) == int(indptr[vocab[stem] + 1] - indptr[vocab[stem]]) > 0
    assert lookup("zzzz") == 0


def test_saved_index_holds_no_corpus_and_loads_lazily(tmp_path, write):
    topics = ["graph networks", "speech recognition", "protein folding"]
    path = write("p.jsonl", "".join(json.dumps({"title": f"Paper {t}", "abstract": f"A study of {t}."}) + "\n" for t in topics))
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([path])
    files = {p.name for p in engine.bm25.index_dir.iterdir()}
    assert "corpus.jsonl" not in files and "rows.npy" in files and engine.bm25.journal.path.exists()
    state = json.loads((engine.bm25.index_dir / "paperchat_state.json").read_text())
    assert state["docs"] == 3 and state["format"] == "bm25s-journal-1"

    reader = Engine(make_settings(tmp_path / "index", llm="extractive"))
    reader.ingest([path])  # unchanged: nothing to rebuild, and nothing is loaded
    assert reader.bm25._model is None
    assert [h.title for h in reader.search("protein folding", k=1, retriever="bm25")] == ["Paper protein folding"]
    assert reader.bm25._model is not None


def test_an_index_saved_by_an_earlier_layout_is_rebuilt_once(tmp_path, write):
    path = write("p.jsonl", json.dumps({"title": "Paper A", "abstract": "Graph networks for molecules."}) + "\n")
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([path])
    revision = engine.store.get_revision()
    shutil.rmtree(engine.bm25.dir)
    engine.bm25.dir.mkdir(parents=True)  # what the previous release wrote: flat files, its own format name
    (engine.bm25.dir / "chunks.sqlite").write_bytes(b"")
    (engine.bm25.dir / "paperchat_state.json").write_text(json.dumps(
        {"revision": revision, "docs": 1, "collection": "papers", "format": "bm25s-lean-1"}))
    fresh = Engine(make_settings(tmp_path / "index", llm="extractive"))
    assert [h.title for h in fresh.search("molecules", k=1, retriever="bm25")] == ["Paper A"]
    assert json.loads((fresh.bm25.index_dir / "paperchat_state.json").read_text())["format"] == "bm25s-journal-1"
    assert not (fresh.bm25.dir / "chunks.sqlite").exists(), "the old layout's files are gone"


def test_a_name_typed_without_its_accents_finds_the_accented_paper(tmp_path, write):
    papers = [("Sabiá: Portuguese Large Language Models", "We pretrain Sabiá on Portuguese text."),
              ("Tülu 3: Pushing Frontiers in Open Language Model Post-Training", "We release Tülu 3."),
              ("Speech units", "A study of speech recognition.")]
    path = write("p.jsonl", "".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in papers))
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([path])
    assert engine.bm25.corrections("compare sabia and tulu") == ["sabiá", "tülu"]
    assert engine.bm25.corrections("compare Sabiá and speech") == []  # typed with accents: nothing to add
    top = engine.bm25.search("what is sabia", 3)
    assert top and top[0][2]["title"].startswith("Sabiá")


def test_a_name_the_question_splits_is_searched_as_the_corpus_writes_it(tmp_path, write):
    papers = [("LMEnt: A Suite for Analyzing Knowledge in Language Models", "We present LMEnt, a suite of models."),
              ("UniTabE: Pretraining for Tabular Data", "UniTabE pretrains on tables."),
              ("Entity tracking in language model suites",
               "Suites of language models track entities wherein pre-training helps.")]
    path = write("p.jsonl", "".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in papers))
    engine = Engine(make_settings(tmp_path / "index", llm="extractive"))
    engine.ingest([path])
    assert engine.bm25.corrections("the lm-ent suite") == ["lment"]
    assert engine.bm25.corrections("the lm ent suite") == ["lment"]
    assert engine.bm25.corrections("unitab-e tables") == ["unitabe"]
    # two words the corpus knows on their own stay as written, and stop words never join
    assert engine.bm25.corrections("pre-training where in the suite") == []
    assert [h.title for h in engine.search("lm-ent suite", k=1)] == [papers[0][0]]
