"""Side-by-side report of several configurations run over the same dataset (``rag eval --compare``)."""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluation.report import HEADLINE, fmt, lookup


def render_compare(runs: dict[str, dict], dataset: str) -> str:
    labels = list(runs)
    lines = [f"# Comparison: {dataset}", "",
             "Each column is one configuration over the same questions; full reports are in the sub-folders.", "",
             "| metric | " + " | ".join(f"`{label}`" for label in labels) + " |",
             "|---|" + "---|" * len(labels)]
    lines.append("| answer mode | " + " | ".join(runs[label]["mode"] for label in labels) + " |")
    for name, path in HEADLINE:
        lines.append(f"| {name} | " + " | ".join(fmt(lookup(runs[label], path)) for label in labels) + " |")
    if any("faithfulness" in m for m in runs.values()):
        lines.append("| faithfulness | " + " | ".join(fmt(runs[label].get("faithfulness")) for label in labels) + " |")
    kinds = sorted({k for m in runs.values() for k in m["by_kind"]})
    lines += ["", "## hit@5 by kind", "", "| kind | " + " | ".join(f"`{label}`" for label in labels) + " |",
              "|---|" + "---|" * len(labels)]
    for kind in kinds:
        lines.append(f"| {kind} | " + " | ".join(fmt(runs[label]["by_kind"].get(kind, {}).get("hit@5")) for label in labels)
                     + " |")
    return "\n".join(lines) + "\n"


def write_compare(out: Path, runs: dict[str, dict], dataset: str) -> list[Path]:
    """compare.json ({label: metrics}) and compare.md in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "compare.json", out / "compare.md"]
    paths[0].write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(render_compare(runs, dataset), encoding="utf-8")
    return paths
