"""Measuring: ``rag eval`` (question sets and dialogues) and ``rag bench`` (speed figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.base import JsonOpt, LLMOpt, fail, open_engine


def eval_cmd(
    dataset: Annotated[Path | None, typer.Option("--dataset", help="JSONL questions (see eval/datasets/README.md).")] = None,
    dialogues: Annotated[Path | None, typer.Option("--dialogues", help="JSONL multi-turn dialogues instead.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="train | test: that part of the frozen split "
                                                           "(rag/evaluation/split.py). Questions: default all; "
                                                           "dialogues: default both, test first.")] = None,
    through_api: Annotated[bool, typer.Option("--api", help="Dialogues: through /v1/chat/completions.")] = False,
    llm: LLMOpt = None,
    k: Annotated[int, typer.Option("--k")] = 5,
    out: Annotated[Path | None, typer.Option("--out")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    compare: Annotated[list[str] | None, typer.Option("--compare", help="e.g. retriever=bm25,llm=extractive")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate retrieval, citations and refusals on a question set, or follow-ups on dialogues."""
    if split not in (None, "train", "test"):
        fail(f"--split must be train or test, not {split!r}")
    if dialogues is not None:
        from rag.evaluation.dialogues import main as dialogue_main

        dialogue_main(open_engine(), dialogues, split=split, llm=llm, k=k, through_api=through_api,
                      out=out or Path("out/eval-dialogues"), as_json=as_json)
        return
    if dataset is None:
        fail("give --dataset FILE (questions) or --dialogues FILE (conversations)")
    from rag.evaluation.runner import main as eval_main

    eval_main(open_engine(), dataset=dataset, llm=llm, k=k, out=out or Path("out/eval"), limit=limit,
              compare=compare or [], as_json=as_json, split=split)


def bench(
    sizes: Annotated[str, typer.Option(help="Comma-separated index sizes for query latency.")] = "410,10000,100000",
    as_json: JsonOpt = False,
    keep: Annotated[Path | None, typer.Option("--keep", help="Keep the synthetic indexes in this directory and "
                                              "reuse them next run (a 1M one takes ~45 min to insert).")] = None,
) -> None:
    """Speed figures: ingest vs raw encode, re-ingest, query latency by size, cold start, memory."""
    from rag.bench import main as bench_main

    bench_main(open_engine(), sizes=[int(s) for s in sizes.split(",") if s.strip()], as_json=as_json, keep=keep)
