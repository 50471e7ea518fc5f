"""The search probes of `rag bench` (rag.bench.probes): embedded, and through a real `chroma run` serving the
same index dir, on the bundled 410-paper index (one server started for the test)."""

from __future__ import annotations

from rag.bench.probes import queries_for
from rag.bench.run import _probe_both
from tests.conftest import CORPUS, make_settings


def test_embedded_and_server_probes_measure_each_process(corpus_index, tmp_path):
    settings = make_settings(corpus_index)
    queries = queries_for([CORPUS], n=8)
    result: dict = {}
    notes: list[str] = []

    embedded = _probe_both(settings, 410, corpus_index, settings.collection, queries, tmp_path, result, notes,
                           as_json=True, with_server=True)

    assert embedded["chroma"] == str(corpus_index / "chroma") and embedded["queries"] == 8
    assert 0 < embedded["p50_ms"] <= embedded["p95_ms"]
    assert 100 < embedded["rss_mb"] <= embedded["peak_rss_mb"] and 0 < embedded["rss_file_mb"] < embedded["rss_mb"]
    served = result["server"]["410"]
    assert set(served) == {"p50_ms", "p95_ms", "search_peak_rss_mb", "chroma_peak_rss_mb"}
    assert 0 < served["p50_ms"] <= served["p95_ms"]
    assert served["search_peak_rss_mb"] > 100 and served["chroma_peak_rss_mb"] > 20
    assert any("410 papers, embedded:" in n for n in notes)
    assert any("410 papers, Chroma server:" in n and "`chroma run`" in n for n in notes)
    # run_server_probe refuses figures from a child that did not search through the server (its store location)

