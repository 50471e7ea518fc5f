"""Distributed ingest on Ray: the embedding step of :func:`rag.ingest.pipeline.ingest` on N actors.

Why only the embedding step: it is >90% of an ingest's time (the model runs over every chunk), while
parsing, planning and chunking are cheap, and Chroma writes must stay ordered for a run to be
reproducible. The driver keeps doing everything else, so a Ray run plans the same papers, makes the
same batches, writes them in the same order and therefore leaves exactly the index a serial run
leaves (same ids and hashes; vectors from the same model on the same batches). It is idempotent and
resumable for the same reason: unchanged papers are skipped before Ray is even started.

Each actor loads the embedding model once (``Embedder`` with the driver's settings) and embeds whole
batches; ``ray.util.ActorPool.map`` keeps every actor busy and returns results in submission order.
With ``RAG_EMBED_BASE_URL`` set, the actors send their batches to the embedding server instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from rag.config import Settings
from rag.errors import RagError

log = logging.getLogger(__name__)

#: Object store for a Ray instance started here (not for a cluster): batches are small, the default
#: (30% of RAM) would claim memory other processes need on a shared machine.
_LOCAL_OBJECT_STORE = 300 * 1024 * 1024


def local_ray_options(workers: int) -> dict:
    """``ray.init`` options for a Ray started on this machine for one ingest."""
    return {"num_cpus": workers, "object_store_memory": _LOCAL_OBJECT_STORE, "include_dashboard": False,
            "logging_level": logging.WARNING, "log_to_driver": False}


class DistributedIngestError(RagError):
    """Ray is missing, the cluster cannot be reached, or an embedding worker failed."""


class EmbedWorker:
    """One Ray actor: the embedding model loaded once, embedding whole batches."""

    def __init__(self, settings: Settings) -> None:
        from rag.embed import Embedder
        from rag.offline import apply

        apply()
        self.embedder = Embedder(settings)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_texts(texts)


def ray_batches(settings: Settings, workers: int, address: str | None = None):
    """A ``BatchEmbedder`` for the pipeline that embeds on ``workers`` Ray actors.

    ``address``: an existing cluster (``ray://head:10001`` or ``auto``); None starts a local Ray with
    ``workers`` CPUs, or joins the cluster in ``RAY_ADDRESS``. Ray starts on the first batch only.
    """
    if workers < 1:
        raise DistributedIngestError("--workers must be at least 1.")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise DistributedIngestError("`--engine ray` needs Ray: pip install 'paperchat[ray]'.") from None

    def run(batches: list[list[str]]) -> Iterator[list[list[float]]]:
        import os

        import ray
        from ray.util import ActorPool

        started = False
        if not ray.is_initialized():
            target = address or os.environ.get("RAY_ADDRESS") or None
            options = {"address": target, "logging_level": logging.WARNING, "log_to_driver": False} if target \
                else local_ray_options(workers)
            try:
                ray.init(**options)
            except Exception as exc:  # ConnectionError, RuntimeError, ValueError for a bad address
                where = f"the Ray cluster at {target} is unreachable" if target else "a local Ray did not start"
                raise DistributedIngestError(f"{where}: "
                                             f"{' '.join(str(exc).split())[:200]}") from None
            started = True
        actor = ray.remote(num_cpus=1)(EmbedWorker)
        pool_actors = [actor.remote(settings) for _ in range(workers)]
        try:
            pool = ActorPool(pool_actors)
            yield from pool.map(lambda a, texts: a.embed.remote(texts), batches)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            first = (str(cause).strip().splitlines() or [type(cause).__name__])[-1]
            if isinstance(cause, RagError):
                raise type(cause)(str(cause)) from None
            raise DistributedIngestError(f"a Ray embedding worker failed: {first[:300]}") from None
        finally:
            for a in pool_actors:
                ray.kill(a)
            if started:
                ray.shutdown()

    return run
