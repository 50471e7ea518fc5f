"""Load benchmark of the HTTP API: N concurrent chat clients, each holding its own conversations.

Every client talks about a different paper: it asks "What is <title> about?", then a follow-up that
only makes sense with that history ("What results does it report?"), sending the history in
``messages`` as any OpenAI client does. A follow-up citing another client's paper means conversations
leaked between sessions (``leaked``); one that does not cite the client's own paper lost its subject
(``missed``: in extractive mode that too would be a bug; with a small LLM it can be answer quality).

    python tools/load_bench.py --llm extractive          # 16 clients x 10 questions (the CI load test)
    python tools/load_bench.py --llm local               # same load, answers by the bundled SmolLM2
    python tools/load_bench.py --url http://HOST:PORT     # against a running `rag api` / `rag serve`

Without ``--url`` the API is started in-process on the index of RAG_INDEX_DIR (default .rag/index).
Prints throughput (requests/s), latency percentiles, errors and leaked / missed follow-ups; ``--json``
prints the same as one JSON object. tests/reliability/test_load.py runs :func:`run_load`.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from dataclasses import dataclass, field

#: One paper per client; each was checked to be cited by its two-turn conversations in extractive mode.
PAPERS = [
    "GLAP: General contrastive audio-text pretraining across domains and languages",
    "Pre-training with Synthetic Data Helps Offline Reinforcement Learning",
    "Improving Pretraining Data Using Perplexity Correlations",
    "Train Once, Answer All: Many Pretraining Experiments for the Cost of One",
    "Do We Still Need Clinical Language Models?",
    "A Comparison of Language Modeling and Translation as Multilingual Pretraining Objectives",
    "Dolma: an Open Corpus of Three Trillion Tokens for Language Model Pretraining Research",
    "PIG-Nav: Key Insights for Pretrained Image Goal Navigation Models",
    "Instruction Following without Instruction Tuning",
    "KoBigBird-large: Transformation of Transformer for Korean Language Understanding",
    "Swin-UMamba: Mamba-based UNet with ImageNet-based pretraining",
    "Scaling Up Video Summarization Pretraining with Large Language Models",
    "TÜLU 3: Pushing Frontiers in Open Language Model Post-Training",
    "A Simple Baseline that Questions the Use of Pretrained-Models in Continual Learning",
    "Don't Stop Pretraining? Make Prompt-based Fine-tuning Powerful Learner",
    "Strengthening Multimodal Large Language Model with Bootstrapped Preference Optimization",
]
#: Follow-ups that cannot be answered without the conversation (alone, each gets no citation).
FOLLOW_UPS = ["What results does it report?", "How is it evaluated?", "What are its limitations?",
              "Which data does it use?", "How does it compare with earlier work?"]


@dataclass
class LoadResult:
    clients: int
    questions: int  # per client
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds per answered request
    errors: list[str] = field(default_factory=list)  # "client i: <what went wrong>"
    leaked: list[str] = field(default_factory=list)  # follow-ups citing another client's paper
    missed: list[str] = field(default_factory=list)  # follow-ups not citing their client's own paper
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]

    def summary(self) -> dict:
        return {"clients": self.clients, "questions_per_client": self.questions, "requests": self.requests,
                "answered": len(self.latencies), "errors": len(self.errors), "leaked": len(self.leaked),
                "missed": len(self.missed),
                "seconds": round(self.seconds, 1), "throughput_rps": round(self.throughput, 2),
                "p50_s": round(self.percentile(50), 2), "p95_s": round(self.percentile(95), 2),
                "max_s": round(max(self.latencies, default=0.0), 2)}


def _client_run(index: int, sdk, questions: int, model: str, result: LoadResult, lock: threading.Lock,
                k: int | None) -> None:
    """One client: ``questions // 2`` two-turn conversations about its own paper; odd clients stream."""
    paper = PAPERS[index % len(PAPERS)]
    stream = index % 2 == 1
    extra = {"extra_body": {"k": k}} if k else {}

    def call(messages: list[dict]) -> tuple[str, list[str]]:
        t0 = time.perf_counter()
        if stream:
            chunks = list(sdk.chat.completions.create(model=model, messages=messages, stream=True, **extra))
            content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            citations = (chunks[-1].model_extra or {}).get("citations", [])
        else:
            reply = sdk.chat.completions.create(model=model, messages=messages, **extra)
            content, citations = reply.choices[0].message.content or "", (reply.model_extra or {}).get("citations", [])
        citations = [c["title"] if isinstance(c, dict) else c for c in citations]  # {n, title, paper_id, url, …}
        with lock:
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[200] = result.statuses.get(200, 0) + 1
        return content, citations

    for n in range(questions):
        follow = FOLLOW_UPS[(n // 2) % len(FOLLOW_UPS)]
        first = {"role": "user", "content": f"What is {paper} about?"}
        try:
            if n % 2 == 0:
                opening, _ = call([first])
            else:
                _, citations = call([first, {"role": "assistant", "content": opening},
                                     {"role": "user", "content": follow}])
                others = [c for c in citations if c in PAPERS and c != paper]
                if others or paper not in citations:
                    with lock:
                        (result.leaked if others else result.missed).append(
                            f"client {index} ({paper[:40]}): {follow!r} cited {citations}")
        except Exception as exc:  # a benchmark reports failures instead of stopping at the first one
            status = getattr(exc, "status_code", 0)
            with lock:
                result.errors.append(f"client {index}: {type(exc).__name__} {status or ''} {str(exc)[:200]}")
                result.statuses[status] = result.statuses.get(status, 0) + 1
            if n % 2 == 0:
                opening = ""


def run_load(base_url: str, clients: int = 16, questions: int = 10, token: str = "", model: str = "paperchat",
             timeout: float = 300.0, k: int | None = None) -> LoadResult:
    """Run the load against ``base_url`` (the server root, without /v1) and collect the figures.

    ``k`` (papers per answer, the API's ``k`` extension) defaults to the server's RAG_TOP_K.
    """
    import importlib.util

    import openai

    # openai uses httpx2 when ``sys.modules`` holds it; a server in this process (the CI test) can be
    # importing httpx2 in its own thread just then, and a client that sees the half-imported module
    # fails ("partially initialized module 'httpx2'"). Importing it here first closes that race.
    if importlib.util.find_spec("httpx2") is not None:
        importlib.import_module("httpx2")
    sdks = [openai.OpenAI(base_url=base_url.rstrip("/") + "/v1", api_key=token or "none", max_retries=0, timeout=timeout)
            for _ in range(clients)]
    result, lock = LoadResult(clients, questions), threading.Lock()
    threads = [threading.Thread(target=_client_run, args=(i, sdks[i], questions, model, result, lock, k))
               for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - t0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="extractive", choices=["extractive", "local", "openai", "auto"])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--questions", type=int, default=10, help="Questions per client (pairs of turns).")
    parser.add_argument("--url", default="", help="A running API; default: start one in-process.")
    parser.add_argument("--token", default="", help="Bearer token of the running API (RAG_API_TOKEN).")
    parser.add_argument("--k", type=int, default=None, help="Papers per answer (default: the server's RAG_TOP_K).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    server = None
    url = args.url
    if not url:
        from rag import Engine
        from rag.api import BackgroundServer, create_app

        engine = Engine.from_settings(None, llm=args.llm, api_token="")  # RAG_* env, answer mode from --llm
        if engine.is_empty():
            raise SystemExit("error: the index is empty: run `rag ingest` first (or set RAG_INDEX_DIR)")
        server = BackgroundServer(create_app(engine)).start()
        url = server.url
    model = "paperchat" if args.url else f"paperchat-{args.llm}"
    try:
        result = run_load(url, args.clients, args.questions, token=args.token, model=model, k=args.k)
    finally:
        if server is not None:
            server.stop()
    summary = {"llm": args.llm, "k": args.k, **result.summary()}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{summary['requests']} requests ({args.clients} clients x {args.questions}, answer mode {args.llm}) "
          f"in {summary['seconds']} s")
    print(f"throughput {summary['throughput_rps']} req/s · latency p50 {summary['p50_s']} s · p95 {summary['p95_s']} s "
          f"· max {summary['max_s']} s")
    print(f"errors {summary['errors']} · follow-ups citing another client's paper {summary['leaked']} "
          f"· not citing their own paper {summary['missed']}")
    for line in (result.errors + result.leaked + result.missed)[:10]:
        print("  " + line)


if __name__ == "__main__":
    main()
