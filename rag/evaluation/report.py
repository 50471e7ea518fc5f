"""Write an eval run to disk: metrics.json, results.jsonl, report.md and PNG plots.

report.md is what a person reads first: the headline table, the per-kind table, the plots, then the
questions that went wrong (missed retrievals, wrong citations, wrong refusals) so failures can be
inspected without opening the JSONL.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluation.metrics import QuestionResult, per_question

HEADLINE = [
    ("hit@1", ("retrieval", "hit@1")), ("hit@5", ("retrieval", "hit@5")), ("recall@5", ("retrieval", "recall@5")),
    ("MRR", ("retrieval", "mrr")), ("nDCG@10", ("retrieval", "ndcg@10")),
    ("citation precision", ("citations", "precision")), ("citation recall", ("citations", "recall")),
    ("refusal accuracy", ("refusal", "accuracy")), ("false refusal rate", ("refusal", "false_refusal_rate")),
    ("keyword recall", ("answer", "keyword_recall")),
    ("latency p50 (ms)", ("latency_ms", "p50")), ("latency p95 (ms)", ("latency_ms", "p95")),
]
KIND_KEYS = ("hit@5", "mrr", "citation_precision", "refusal_accuracy")


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value > 1.5 else f"{value:.3f}"
    return str(value)


def lookup(metrics: dict, path: tuple[str, str]):
    return (metrics.get(path[0]) or {}).get(path[1])


def write_results(path: Path, results: list[QuestionResult]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


def pyplot():
    """matplotlib's pyplot on a file-only backend, or None: plots are an optional extra
    (``pip install 'paperchat[plots]'``); the figures and tables never depend on them."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_by_kind(plt, metrics: dict, path: Path) -> None:
    kinds = list(metrics["by_kind"])
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(kinds) + 2), 4))
    width = 0.8 / len(KIND_KEYS)
    for j, key in enumerate(KIND_KEYS):
        values = [metrics["by_kind"][k][key] for k in kinds]
        xs = [i + (j - (len(KIND_KEYS) - 1) / 2) * width for i in range(len(kinds))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=key.replace("_", " "))
    ax.set_xticks(range(len(kinds)), [f"{k}\n(n={metrics['by_kind'][k]['n']})" for k in kinds])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"By question kind · {metrics['mode']} · {metrics['dataset']}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(plt, results: list[QuestionResult], metrics: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r.latency_ms for r in results], bins=min(30, max(5, len(results) // 4)), color="#4c72b0")
    for key, style in (("p50", "--"), ("p95", ":")):
        value = metrics["latency_ms"][key]
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"{key} {value:.0f} ms")
    ax.set_xlabel("ask latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency · {metrics['mode']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def failures(results: list[QuestionResult]) -> dict[str, list[str]]:
    """Human-readable lines for each kind of mistake."""
    out: dict[str, list[str]] = {"retrieval misses (no expected title in the top 5)": [],
                                 "wrong citations (cited a title that is not expected)": [],
                                 "false refusals": [], "missed refusals (answered an unanswerable question)": []}
    keys = list(out)
    for r in results:
        m = per_question(r)
        top = "; ".join(x["title"][:60] for x in r.ranking[:3])
        if r.answerable and not m["hit@5"]:
            out[keys[0]].append(f"`{r.id}` {r.question} — expected {r.expected_titles}; top 3: {top}")
        if r.answerable and m["citation_precision"] is not None and m["citation_precision"] < 1:
            wrong = [t for t in r.cited if t not in r.expected_titles]
            out[keys[1]].append(f"`{r.id}` {r.question} — cited {wrong}")
        if r.answerable and r.refused:
            out[keys[2]].append(f"`{r.id}` {r.question}")
        if not r.answerable and not r.refused:
            out[keys[3]].append(f"`{r.id}` {r.question} — cited {r.cited}")
    return out


def render_markdown(metrics: dict, results: list[QuestionResult], config_label: str, judge_note: str) -> str:
    lines = [
        f"# Eval report: {metrics['dataset']}",
        "",
        f"Answer mode **{metrics['mode']}** · config `{config_label}` · {metrics['n']} questions "
        f"({metrics['n_answerable']} answerable, {metrics['n_unanswerable']} unanswerable).",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {fmt(lookup(metrics, path))} |" for name, path in HEADLINE]
    fallbacks = [r for r in results if not r.refused and r.mode != metrics["mode"]]
    if fallbacks:
        lines += ["", f"{len(fallbacks)} of {metrics['n']} answers fell back to another mode "
                      f"({', '.join(sorted({r.mode for r in fallbacks}))}); first notice: {fallbacks[0].notice or '–'}"]
    if "faithfulness" in metrics:
        lines.append(f"| faithfulness (LLM judge) | {fmt(metrics['faithfulness'])} |")
    lines += ["", f"Faithfulness: {judge_note}", "", "## By kind", "",
              "Refusal accuracy per kind is the share of questions whose refuse/answer decision was right.", "",
              "| kind | n | hit@5 | MRR | citation precision | refusal accuracy |", "|---|---|---|---|---|---|"]
    for kind, row in metrics["by_kind"].items():
        lines.append(f"| {kind} | {row['n']} | " + " | ".join(fmt(row[k]) for k in KIND_KEYS) + " |")
    lines += ["", "![by kind](by_kind.png)", "", "![latency](latency.png)", "", "## What went wrong", ""]
    for title, items in failures(results).items():
        lines.append(f"### {title}: {len(items)}")
        lines.append("")
        lines += [f"- {item}" for item in items] or ["none"]
        lines.append("")
    return "\n".join(lines)


def write_run(out: Path, metrics: dict, results: list[QuestionResult], config_label: str, judge_note: str) -> list[Path]:
    """Write every output file of one configuration into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.json", out / "results.jsonl", out / "report.md"]
    paths[0].write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_results(paths[1], results)
    paths[2].write_text(render_markdown(metrics, results, config_label, judge_note), encoding="utf-8")
    plt = pyplot()
    if plt is not None:
        paths += [out / "by_kind.png", out / "latency.png"]
        plot_by_kind(plt, metrics, paths[3])
        plot_latency(plt, results, metrics, paths[4])
    return paths


def summary_table(metrics: dict) -> str:
    """A compact terminal summary of one run."""
    rows = [f"{name:>20}: {fmt(lookup(metrics, path))}" for name, path in HEADLINE]
    return "\n".join([f"{metrics['dataset']} · mode {metrics['mode']} · n={metrics['n']}"] + rows)
