"""The ``remote`` backend: vectors from any OpenAI-compatible ``POST /embeddings`` endpoint.

A GPU embedding server, OpenAI, or another paperchat's ``rag api`` (``RAG_EMBED_BASE_URL``).
"""

from __future__ import annotations

from rag.config import Settings
from rag.errors import EmbedderUnavailable


class RemoteEncoder:
    """Texts -> vectors through an OpenAI-compatible ``POST /embeddings`` endpoint.

    Why the openai SDK: it already retries connection errors, timeouts, 429 and 5xx with backoff, and
    every server we target (TEI, vLLM, Infinity, OpenAI, ``rag api``) speaks its protocol. Texts go in
    batches of ``embed_remote_batch_size`` with up to ``embed_remote_concurrency`` requests in flight;
    vectors are L2-normalised here because the extractive answerer treats dot products as cosines.
    """

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self.base_url = settings.embed_base_url.strip().rstrip("/")
        self.model = settings.embed_remote_model or settings.embed_model
        self.batch = settings.embed_remote_batch_size
        self.concurrency = settings.embed_remote_concurrency
        # The SDK insists on a key; servers without auth ignore it.
        self.client = OpenAI(base_url=self.base_url, api_key=settings.embed_api_key or "unused",
                             timeout=settings.embed_timeout, max_retries=settings.embed_retries)

    def encode(self, texts: list[str]) -> list[list[float]]:
        batches = [texts[i : i + self.batch] for i in range(0, len(texts), self.batch)]
        if len(batches) <= 1 or self.concurrency == 1:
            parts = [self._request(b) for b in batches]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.concurrency, len(batches)), thread_name_prefix="rag-embed") as pool:
                parts = list(pool.map(self._request, batches))
        return [vec for part in parts for vec in part]

    def _request(self, batch: list[str]) -> list[list[float]]:
        import numpy as np
        import openai

        where = f"embedding server {self.base_url}"
        try:
            # "float" explicitly: the SDK asks for base64 by default, which not every server implements.
            reply = self.client.embeddings.create(model=self.model, input=batch, encoding_format="float")
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise EmbedderUnavailable(f"{where} is unreachable ({type(exc).__name__}); start it (e.g. `rag api`) "
                                      "or fix RAG_EMBED_BASE_URL") from None
        except openai.APIStatusError as exc:
            detail = " ".join(str(getattr(exc, "message", "") or exc).split())[:300]
            raise EmbedderUnavailable(f"{where} answered HTTP {exc.status_code} for model {self.model!r}: {detail}") from None
        rows = sorted(reply.data, key=lambda d: d.index)
        if len(rows) != len(batch) or not rows or any(not r.embedding for r in rows):
            raise EmbedderUnavailable(f"{where} returned {len(rows)} vectors for {len(batch)} texts")
        vec = np.asarray([r.embedding for r in rows], dtype=np.float64)
        vec /= np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
        return vec.tolist()
