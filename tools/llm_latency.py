"""Latency and citation quality of LLM answers (default: the in-process local model) on the dev set.

    python tools/llm_latency.py --limit 10                 # p50 end-to-end and first-token latency
    python tools/llm_latency.py --limit 40 --policies      # what the support check buys (replayed)
    python tools/llm_latency.py --limit 10 --wait-warm     # after the sentence-vector store is complete

Latency is measured in one warm process (models loaded by a warm-up question), per question, from
``Engine.stream`` being called to the first text delta ("first token": the first verified sentence
on screen) and to the final Answer ("total", retrieval included).

``--policies`` records each raw model reply once (generation then runs to RAG_LLM_MAX_TOKENS, so
latency figures from that mode are not representative) and replays the identical text through each
answer policy: ``raw`` (citation mapper only), ``drop`` and ``replace`` at several support thresholds,
and ``replace@0.6 first-run=2`` (waiting for a second sentence when the first is rejected, the old rule).
Each variant is an :class:`rag.answer.policy.AnswerPolicy` passed to the pipeline; nothing is patched.

The report gives the state of the index's sentence-vector store (rag.embed.SentenceVectorStore) before
timing: answers about papers whose abstract sentences are not stored yet pay for encoding them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Answer, Engine, Settings  # noqa: E402
from rag.answer.generate import generate  # noqa: E402
from rag.answer.sentence_warmup import index_sentences  # noqa: E402
from rag.evaluation.metrics import citation_precision, keyword_recall, mean, percentile  # noqa: E402
from rag.llm.registry import BACKENDS, resolve_mode  # noqa: E402


class Recorder:
    """Wraps a backend: keeps the raw reply of the last call (drained to the end when closed early)."""

    def __init__(self, inner) -> None:
        self.inner, self.raw = inner, ""
        self.label, self.where, self.attempts, self.small = inner.label, inner.where, inner.attempts, inner.small

    def stream(self, messages, **kwargs):
        self.raw = ""
        inner = self.inner.stream(messages, **kwargs)
        try:
            for delta in inner:
                self.raw += delta
                yield delta
        except GeneratorExit:
            for delta in inner:
                self.raw += delta
            raise


class Replay:
    """A backend that "generates" a recorded reply, so every policy sees the same text."""

    def __init__(self, text: str, like) -> None:
        self.text = text
        self.label, self.where, self.attempts, self.small = like.label, like.where, 1, like.small

    def stream(self, messages, **kwargs):
        yield self.text


def load(dataset: Path, limit: int | None, kinds: list[str] | None) -> list[dict]:
    rows = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
    if kinds:
        rows = [r for r in rows if r["kind"] in kinds]
    if limit:  # spread over kinds: take every n-th row rather than the first ones
        step = max(1, len(rows) // limit)
        rows = rows[::step][:limit]
    return rows


def score(row: dict, answer: Answer) -> dict:
    expected = set(row["expected_titles"])
    cited = [c.title for c in answer.citations]
    return {
        "id": row["id"], "answerable": bool(expected), "refused": answer.refused, "mode": answer.mode,
        "notice": answer.notice, "citation_precision": citation_precision(cited, expected) if expected else None,
        "keyword_recall": keyword_recall(answer.text, row["answer_keywords"]) if row["answer_keywords"] else None,
        "cited": len(set(cited)), "answer": answer.text,
    }


def summary(results: list[dict]) -> dict:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    cp = [r["citation_precision"] for r in answerable if r["citation_precision"] is not None]
    return {
        "questions": len(results),
        "citation_precision": round(mean(cp), 3) if cp else None,
        "answers_with_citations": f"{len(cp)}/{len(answerable)}",
        "keyword_recall": round(mean([r["keyword_recall"] for r in answerable]) or 0, 3),
        "refusal_accuracy": round(mean([float(r["refused"]) for r in unanswerable]), 3) if unanswerable else None,
        "false_refusals": round(mean([float(r["refused"]) for r in answerable]), 3) if answerable else None,
        "extractive_fallbacks": sum(r["mode"] == "extractive" for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "eval" / "datasets" / "dev.jsonl")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--kinds", nargs="*", help="only these kinds (fact, paraphrase, multi, title, unanswerable)")
    parser.add_argument("--llm", default="local")
    parser.add_argument("--policies", action="store_true", help="compare answer policies on identical replies")
    parser.add_argument("--out", type=Path, help="write per-question results as JSON")
    base = Settings()
    parser.add_argument("--evidence", type=int, help="evidence sentences per source for small models (default "
                                                     f"{base.answer_policy.small_evidence})")
    parser.add_argument("--sources", type=int,
                        help=f"sources shown to small models (default {base.answer_policy.small_sources})")
    parser.add_argument("--wait-warm", action="store_true",
                        help="wait until the background warm-up has stored every abstract sentence before timing")
    args = parser.parse_args()

    varied = {"small_evidence": args.evidence, "small_sources": args.sources}
    policy = base.answer_policy.model_copy(update={k: v for k, v in varied.items() if v is not None})
    settings = base.model_copy(update={"answer_policy": policy})
    mode = resolve_mode(args.llm, settings)
    recorder = Recorder(BACKENDS[mode].create(settings)) if args.policies and mode != "extractive" else None
    engine = Engine(settings, backends={mode: recorder} if recorder else None)
    rows = load(args.dataset, args.limit, args.kinds)
    stored_before = engine.embedder.sentence_store.count()
    engine.ask("How does Tower+ balance translation quality with general chat ability?", llm=mode)  # warm-up
    if args.wait_warm:
        engine.sentence_warmup[0].join()
    stored_at_start = engine.embedder.sentence_store.count()
    variants = [("raw", None, 1), ("drop", 0.6, 1), ("replace", 0.5, 1), ("replace", 0.6, 1), ("replace", 0.7, 1),
                ("replace", 0.6, 2)]

    def name(check: str, threshold: float | None, first_run: int) -> str:
        return (f"{check}@{threshold}" if threshold else check) + (f" first-run={first_run}" if first_run != 1 else "")

    results, by_variant, firsts, totals = [], {name(*v): [] for v in variants}, [], []
    for row in rows:
        t0 = time.perf_counter()
        first, answer = None, None
        for item in engine.stream(row["question"], llm=mode):
            if isinstance(item, Answer):
                answer = item
            elif first is None:
                first = time.perf_counter() - t0
        total = time.perf_counter() - t0
        assert answer is not None
        totals.append(total)
        firsts.append(first if first is not None else total)
        res = score(row, answer) | {"first_s": round(firsts[-1], 2), "total_s": round(total, 2)}
        results.append(res)
        print(f"{row['id']:>10} first {res['first_s']:5.2f}s total {total:5.2f}s mode {answer.mode:<10} "
              f"cp {res['citation_precision']} refused {answer.refused}", file=sys.stderr)
        if recorder is not None and not (answer.refused and not answer.model):  # generation ran (kept or not)
            hits = answer.sources
            scored = engine.score_sentences(answer.standalone_question or row["question"], hits)
            for check, threshold, first_run in variants:
                replay = Answer(question=row["question"], text="", sources=hits, mode=mode,
                                standalone_question=answer.standalone_question)
                variant = policy.model_copy(update={"check": check, "support": threshold or policy.support,
                                                    "max_rejected_first": first_run})
                list(generate(engine.answerer, replay, scored, [], backend=Replay(recorder.raw, recorder), policy=variant))
                by_variant[name(check, threshold, first_run)].append(score(row, replay))
        elif recorder is not None:  # refused by the gate: identical for every policy
            for key in by_variant:
                by_variant[key].append(res)
    report = {
        "mode": mode, "model": (recorder or engine.backends.get(mode)).label if mode != "extractive" else "",
        "latency": {"p50_total_s": round(percentile(totals, 50), 2), "p90_total_s": round(percentile(totals, 90), 2),
                    "p50_first_token_s": round(percentile(firsts, 50), 2),
                    "p90_first_token_s": round(percentile(firsts, 90), 2)},
        "quality": summary(results),
        "prompt": {"evidence_per_source": policy.small_evidence, "sources_shown": policy.small_sources},
        "sentence_store": {"rows_before_run": stored_before, "rows_when_timing_started": stored_at_start,
                           "abstract_sentences": len(set(index_sentences(engine.store)))},
    }
    if recorder is not None:
        report["policies"] = {k: summary(v) for k, v in by_variant.items()}
        report["note"] = "--policies drains every reply to max_tokens: latency figures of this run are not representative"
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"report": report, "results": results}, indent=2))


if __name__ == "__main__":
    main()
