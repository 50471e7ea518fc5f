"""Embedding through an OpenAI-compatible endpoint: one paperchat serves MiniLM, a second ingests through it.

Also: the index records which embedder built it and refuses to mix, and an unreachable endpoint is one line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag import EmbedderMismatch, EmbedderUnavailable, Engine
from rag.api import BackgroundServer, create_app
from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS, make_settings
from tests.servers import free_port

QUERIES = ["open-vocabulary object detection", "continual pretraining learning rate schedule",
           "diffusion models for video generation", "reinforcement learning from human feedback",
           "efficient attention for long context"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """24 real papers of the bundled corpus, as a JSONL file."""
    papers, _ = load_corpus(sorted(CORPUS.iterdir())[:1])
    path = tmp_path_factory.mktemp("small-corpus") / "papers.jsonl"
    path.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract}) + "\n" for p in papers[:24]))
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Engine A: `rag api` serving its bundled MiniLM, in a thread on 127.0.0.1."""
    engine = Engine(make_settings(tmp_path_factory.mktemp("served"), llm="extractive"))
    with BackgroundServer(create_app(engine, warm=False)) as server:
        yield engine, server


@pytest.fixture(scope="module")
def local_index(corpus, served, tmp_path_factory):
    # Batches of 8 x 4 chunks stay on the ONNX session (no torch start-up, which dominated this test's time).
    engine = Engine(make_settings(tmp_path_factory.mktemp("local"), llm="extractive", embed_batch_size=8))
    engine.ingest([corpus])
    return engine


def remote_engine(index_dir, server, **overrides) -> Engine:
    options = {"llm": "extractive", "embed_base_url": server.url + "/v1", "embed_remote_batch_size": 16, **overrides}
    return Engine(make_settings(index_dir, **options))


def test_second_paperchat_ingests_through_the_first_and_finds_the_same_papers(corpus, served, local_index, tmp_path):
    _, server = served
    remote = remote_engine(tmp_path / "remote", server)
    report = remote.ingest([corpus])
    assert report.added == 24 and remote.embedder.backend == "remote"
    # Same chunks, same hashes, same vectors (float tolerance: ONNX on the server vs torch locally).
    mine = remote.store.collection.get(include=["embeddings", "metadatas"])
    theirs = local_index.store.collection.get(ids=mine["ids"], include=["embeddings", "metadatas"])
    assert sorted(mine["ids"]) == sorted(local_index.store.chunk_table())
    assert [m["hash"] for m in mine["metadatas"]] == [m["hash"] for m in theirs["metadatas"]]
    np.testing.assert_allclose(np.asarray(mine["embeddings"]), np.asarray(theirs["embeddings"]), atol=1e-4)
    for query in QUERIES:
        for mode in ("dense", "hybrid"):
            assert [h.paper_id for h in remote.search(query, k=5, retriever=mode)] == \
                   [h.paper_id for h in local_index.search(query, k=5, retriever=mode)], (query, mode)
    assert remote.store.metadata()["embedder"] == "all-minilm-l6-v2"
    assert remote.store.metadata()["embed_dim"] == 384
    assert remote.ingest([corpus]).unchanged == 24  # idempotent, no request needed


def test_retries_and_batches(served, tmp_path):
    """Texts go in batches of RAG_EMBED_REMOTE_BATCH_SIZE; a 503 is retried and the vectors still match."""
    engine, _ = served
    calls = {"n": 0}
    app = create_app(engine, warm=False)

    async def flaky(scope, receive, send):  # the real API behind one failed request
        if scope["type"] == "http" and scope["path"] == "/v1/embeddings":
            calls["n"] += 1
            if calls["n"] == 1:
                await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"busy"})
                return
        await app(scope, receive, send)

    texts = [f"sentence number {i} about graph neural networks" for i in range(5)]
    with BackgroundServer(flaky) as server:
        remote = remote_engine(tmp_path, server, embed_remote_batch_size=2, embed_remote_concurrency=1, embed_retries=2)
        got = remote.embedder.embed_texts(texts)
    assert calls["n"] == 4  # 1 refused + 3 batches (2 + 2 + 1)
    np.testing.assert_allclose(got, engine.embedder.embed_texts(texts), atol=1e-6)


def test_unreachable_endpoint_is_one_line_and_writes_nothing(corpus, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    engine = Engine(make_settings(tmp_path, embed_base_url=url, embed_retries=0, embed_timeout=5))
    with pytest.raises(EmbedderUnavailable) as err:
        engine.ingest([corpus])
    message = str(err.value)
    assert url in message and "unreachable" in message and "\n" not in message
    assert engine.store.count() == 0


def test_index_refuses_a_different_embedder(corpus, local_index, tmp_path):
    other = Engine(local_index.settings.model_copy(update={
        "embed_base_url": f"http://127.0.0.1:{free_port()}/v1", "embed_remote_model": "text-embedding-3-small"}))
    before = local_index.store.count()
    with pytest.raises(EmbedderMismatch, match="all-minilm-l6-v2.*text-embedding-3-small"):
        other.search("object detection")
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({"title": "A new paper", "abstract": "About something else entirely."}) + "\n")
    with pytest.raises(EmbedderMismatch):
        other.ingest([changed])
    assert local_index.store.count() == before


def test_index_refuses_vectors_of_another_dimension(local_index, tmp_path):
    """Same model name, other dimension (e.g. a server truncating vectors): refused before writing."""
    index = tmp_path / "copy"
    engine = Engine(make_settings(index, llm="extractive"), embedder=local_index.embedder)
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps({"title": "Paper A", "abstract": "Graph neural networks for molecules."}) + "\n")
    engine.ingest([first])
    engine.store.update_metadata({"embed_dim": 768})
    second = tmp_path / "b.jsonl"
    second.write_text(json.dumps({"title": "Paper B", "abstract": "Speech recognition with transducers."}) + "\n")
    with pytest.raises(EmbedderMismatch, match="768"):
        engine.ingest([first, second])
    assert engine.store.count() == 1
