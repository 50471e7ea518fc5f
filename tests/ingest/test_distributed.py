"""`rag ingest --engine ray` leaves exactly the index the serial path leaves, and re-runs are incremental."""

from __future__ import annotations

import json

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'paperchat[ray]' (`make test` installs it)")

from rag import Engine  # noqa: E402
from rag.ingest.parse import load_corpus  # noqa: E402
from tests.conftest import CORPUS, make_settings  # noqa: E402

LONG = {"title": "A Very Long Paper", "abstract": " ".join(f"Sentence {i} says something about long inputs." for i in range(80))}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    papers, _ = load_corpus([CORPUS])
    rows = [{"title": p.title, "abstract": p.abstract} for p in papers[:14]] + [LONG]
    path = tmp_path_factory.mktemp("ray-corpus") / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (as `rag ingest --engine ray` starts it); each ingest joins it."""
    from rag.ingest.distributed import local_ray_options

    ray.init(**local_ray_options(2))
    yield
    ray.shutdown()


def snapshot(engine: Engine) -> dict:
    got = engine.store.collection.get(include=["embeddings", "metadatas", "documents"])
    return {cid: (doc, meta, np.asarray(vec)) for cid, doc, meta, vec in
            zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}


def test_ray_ingest_equals_serial_and_is_incremental(corpus, tmp_path, local_ray):
    # embed_batch_size=2 -> batches of 8 chunks, so the 2 workers share several batches.
    serial = Engine(make_settings(tmp_path / "serial", embed_batch_size=2))
    distributed = Engine(make_settings(tmp_path / "ray", embed_batch_size=2))
    serial.ingest([corpus])
    report = distributed.ingest([corpus], engine="ray", workers=2)
    assert report.added == 15 and report.chunks > 15  # the long paper has several chunks

    a, b = snapshot(serial), snapshot(distributed)
    assert sorted(a) == sorted(b)
    for cid in a:
        assert a[cid][0] == b[cid][0] and a[cid][1] == b[cid][1], cid  # text, metadata (hash, chunk, n_chunks)
        np.testing.assert_allclose(a[cid][2], b[cid][2], atol=1e-5)
    assert distributed.store.metadata()["embedder"] == serial.store.metadata()["embedder"]

    # Idempotent: nothing to embed, so no cluster is contacted (this address would fail).
    again = distributed.ingest([corpus], engine="ray", workers=2, address="ray://127.0.0.1:1")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 15)

    # Resumable: a paper lost by an interrupted run is completed, and the index is the serial one again.
    lost = [cid for cid in b if cid.startswith(b[next(iter(b))][1]["paper_id"] + ":")]
    distributed.store.delete(lost)
    fixed = distributed.ingest([corpus], engine="ray", workers=2)
    assert (fixed.added, fixed.unchanged) == (1, 14)
    assert sorted(snapshot(distributed)) == sorted(a)
    assert [h.paper_id for h in distributed.search("long inputs", k=5)] == [h.paper_id for h in serial.search("long inputs", k=5)]
