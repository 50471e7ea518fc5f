"""Readable corpus-file labels and year choices from the data (rag.catalog, Engine.catalog)."""

from __future__ import annotations

from rag import catalog


def test_bundled_corpus_catalog(engine):
    data = engine.catalog()
    assert data["papers"] == 410
    assert 0 < data["dated"] < data["papers"] and sum(data["years"].values()) == data["dated"]
    assert list(data["years"]) == sorted(data["years"], reverse=True) and all(y.isdigit() for y in data["years"])
    names = [s["name"] for s in data["sources"]]
    assert names == sorted(engine.stats()["sources"])
    labels = {s["name"]: s["label"] for s in data["sources"]}
    assert labels["001_6284347faf2a34e0.txt"].startswith("Sep 9 listing · Detection-Oriented")
    assert labels["000_00cd969e66f315a9.txt"].startswith("Beyond Cosine Decay")
    assert all(".txt" not in label and "papers)" in label for label in labels.values())


def test_label_falls_back_to_the_name_and_shortens_titles():
    assert catalog.source_label("a.jsonl", 1) == "a.jsonl (1 paper)"
    label = catalog.source_label("x.txt", 3, "", "A very long title that goes on and on about pretraining things forever")
    assert label.endswith("… (3 papers)") and len(label) < 70
