"""`rag bench` plumbing on a tiny corpus: the documented JSON shape, the saved plot, sane figures.

The benchmark itself (full corpus, 100k synthetic papers) is not a test; this only proves that the
functions behind it produce what the README and `--json` promise. Cold start and the server probe are
skipped here (they are slow and covered by running `rag bench`); the Chroma-server probe is tested in
tests/bench/test_probes.py.
"""

from __future__ import annotations

import json

import pytest

from rag import Engine, bench
from rag.ingest.parse import load_corpus
from tests.conftest import CORPUS, make_settings


def test_bench_json_shape_and_plot(tmp_path, capsys):
    papers, _ = load_corpus([CORPUS])
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers[:12]) + "\n")
    engine = Engine(make_settings(tmp_path / "unused"))

    result = bench.main(engine, sizes=[12, 50], as_json=True, out_dir=tmp_path / "out", paths=[corpus],
                        with_cold_start=False, with_serve=False, with_server=False)

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result == json.loads((tmp_path / "out" / "bench.json").read_text())
    assert set(result) == {"ingest", "query", "cold_start_s", "peak_rss_mb", "insert_s", "bm25_build_s", "targets"}
    ingest = result["ingest"]
    assert set(ingest) == {"papers", "seconds", "raw_encode_seconds", "ratio", "llama_index_seconds", "llama_index_ratio",
                           "llama_index_cpu_ratio", "llama_index_query_p50_ms", "reingest_seconds"}
    assert ingest["papers"] == 12
    # the seconds are rounded to 0.01 s in the output, so compare the ratios with a tolerance for that
    assert ingest["ratio"] == pytest.approx(ingest["seconds"] / ingest["raw_encode_seconds"], rel=0.03)
    assert ingest["llama_index_ratio"] == pytest.approx(ingest["seconds"] / ingest["llama_index_seconds"], rel=0.03)
    assert ingest["llama_index_query_p50_ms"] > 0
    assert ingest["reingest_seconds"] > 0
    assert set(result["query"]) == {"12", "50"}
    for figures in result["query"].values():
        assert set(figures) == {"p50_ms", "p95_ms"} and 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert set(result["peak_rss_mb"]) == {"12", "50"} and all(mb > 50 for mb in result["peak_rss_mb"].values())
    assert result["cold_start_s"] is None  # skipped on request
    assert set(result["insert_s"]) == set(result["bm25_build_s"]) == {"50"}  # the synthetic size only
    figures = {t["figure"] for t in result["targets"]}
    assert "ingest / llama-index default pipeline, wall time" in figures and all(isinstance(t["met"], bool)
                                                                                 for t in result["targets"])
    assert (tmp_path / "out" / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = (tmp_path / "out" / "bench.md").read_text()
    assert "| ingest / llama-index default pipeline, wall time |" in saved and ("| met |" in saved or "missed" in saved)
    assert not (tmp_path / "out" / "bench.partial.json").exists()  # removed once the run is complete
