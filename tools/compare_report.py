"""Markdown tables of tools/compare_retrieval.py: test first, then train; the PRF grid is train only."""

from __future__ import annotations

KINDS = ["paraphrase", "fact", "multi", "title", "compare", "yesno", "overview"]


def _f(value: float) -> str:
    return f"{value:.3f}"


def summary(results: dict, split: str) -> list[str]:
    any_variant = next(iter(results.values()))[split]
    n_all, n_para = any_variant["all"]["n"], any_variant["paraphrase"]["n"]
    lines = [f"| {split} | all ({n_all} q): hit@1 | hit@5 | MRR | paraphrase ({n_para} q): hit@1 | hit@5 | MRR |",
             "|---|---|---|---|---|---|---|"]
    for label, by_split in results.items():
        a, p = by_split[split]["all"], by_split[split]["paraphrase"]
        lines.append(f"| {label} | {_f(a['hit@1'])} | {_f(a['hit@5'])} | {_f(a['mrr'])} "
                     f"| {_f(p['hit@1'])} | {_f(p['hit@5'])} | {_f(p['mrr'])} |")
    return lines


def by_kind(results: dict, split: str) -> list[str]:
    any_variant = next(iter(results.values()))[split]
    kinds = [k for k in KINDS if k in any_variant]
    lines = [f"| {split}, MRR by kind | " + " | ".join(f"{k} ({any_variant[k]['n']})" for k in kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    for label, by_split in results.items():
        lines.append(f"| {label} | " + " | ".join(_f(by_split[split][k]["mrr"]) for k in kinds) + " |")
    return lines


def markdown(results: dict, costs: dict, grid: list[dict]) -> str:
    out: list[str] = []
    for split in ("test", "train"):
        out += summary(results, split) + [""] + by_kind(results, split) + [""]
    out += [f"PRF grid on train (best 8 of {len(grid)} by MRR over all answerable train questions):", "",
            "| m | n | lam | MRR | hit@5 | paraphrase MRR | paraphrase hit@5 |", "|---|---|---|---|---|---|---|"]
    for g in grid[:8]:
        out.append(f"| {g['m']} | {g['n']} | {g['lam']} | {_f(g['mrr'])} | {_f(g['hit@5'])} "
                   f"| {_f(g['para_mrr'])} | {_f(g['para_hit@5'])} |")
    best_para = max(grid, key=lambda g: (g["para_mrr"], g["mrr"]))
    out += ["", f"Best train paraphrase MRR in the grid: m={best_para['m']} n={best_para['n']} lam={best_para['lam']} "
            f"(paraphrase MRR {_f(best_para['para_mrr'])}, all MRR {_f(best_para['mrr'])})", "",
            "Costs: ```" + str(costs) + "```"]
    return "\n".join(out) + "\n"
