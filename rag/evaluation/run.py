"""Entry point of ``rag eval``: validate the dataset, run each configuration, write the reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.evaluation.compare import write_compare
from rag.evaluation.dataset import EvalItem, check_titles, indexed_titles, load_dataset
from rag.evaluation.judge import make_judge
from rag.evaluation.metrics import QuestionResult, aggregate
from rag.evaluation.report import summary_table, write_run
from rag.evaluation.runner import EvalConfig, run_config

JUDGE_SKIPPED = "skipped (set RAG_JUDGE_BASE_URL and RAG_JUDGE_MODEL to an OpenAI-compatible endpoint to judge)."


def load_checked(engine, dataset: Path, limit: int | None = None, split: str | None = None) -> list[EvalItem]:
    """Load the dataset and check every expected title against the index before anything runs."""
    items = load_dataset(dataset, limit=limit, split=split)
    check_titles(items, indexed_titles(engine), str(dataset))
    return items


def evaluate(engine, items: list[EvalItem], config: EvalConfig, dataset_name: str, progress: bool = False,
             judge=None, desc: str = "eval") -> tuple[dict, list[QuestionResult]]:
    """Run one configuration and aggregate: (metrics.json dict, per-question results)."""
    results = run_config(engine, items, config, progress=progress, judge=judge, desc=desc)
    mode = engine.resolve_mode(config.llm)  # the requested mode; fallbacks are counted in the report
    return aggregate(results, dataset_name, mode), results


def _judge_note(judge) -> str:
    if judge is None:
        return JUDGE_SKIPPED
    if judge.error:
        return f"judge at the configured endpoint failed ({judge.error}); faithfulness is incomplete or missing."
    return f"judged by `{judge.model}` ({judge.calls} sentence checks)."


def main(engine, dataset: Path, llm: str | None = None, k: int = 5, out: Path = Path("out/eval"),
         limit: int | None = None, compare: list[str] | None = None, as_json: bool = False,
         split: str | None = None) -> dict:
    """Run ``rag eval``; returns metrics (one config) or {label: metrics} (``--compare``)."""
    dataset = Path(dataset)
    out = Path(out)
    base = EvalConfig(llm=llm, k=k)
    configs = [EvalConfig.parse(text, base) for text in compare or []] or [base]
    items = load_checked(engine, dataset, limit, split)
    judge = make_judge(engine.settings)
    progress = not as_json
    name = f"{dataset.name} ({split} split)" if split else dataset.name
    runs: dict[str, dict] = {}
    for config in configs:
        metrics, results = evaluate(engine, items, config, name, progress=progress, judge=judge, desc=config.label)
        target = out / config.slug if compare else out
        write_run(target, metrics, results, config.label, _judge_note(judge))
        runs[config.label] = metrics
        if not as_json:
            print(summary_table(metrics) + f"\n-> {target / 'report.md'}\n", file=sys.stdout)
    if compare:
        write_compare(out, runs, name)
        if not as_json:
            print(f"comparison -> {out / 'compare.md'}")
    result = runs if compare else next(iter(runs.values()))
    if as_json:
        print(json.dumps(result))
    return result
