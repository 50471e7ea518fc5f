"""16 concurrent OpenAI-SDK clients x 10 questions against the HTTP API (extractive mode).

Every request must be answered, and no conversation may leak into another: each client's follow-ups
("What results does it report?") must cite the client's own paper. The workload is the one
tools/load_bench.py measures; here answers use k=2 papers (the request's ``k`` extension) because an
extractive answer embeds every abstract sentence of its sources (~0.15 s of CPU per paper), and with
two papers a follow-up that lost or mixed its history still retrieves and cites the wrong paper.
"""

from __future__ import annotations

from tools.load_bench import run_load


def test_sixteen_clients_ten_questions_each(api_server):
    result = run_load(api_server.url, clients=16, questions=10, k=2)
    print(result.summary())  # throughput and p95 in the -s / CI log
    assert result.errors == []
    assert len(result.latencies) == 160 and result.statuses == {200: 160}
    assert result.leaked == [], "a follow-up cited another client's paper: conversations leaked"
    assert result.missed == [], "a follow-up lost its conversation's subject"
