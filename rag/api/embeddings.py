"""``POST /v1/embeddings``: the engine's embedding model (the bundled MiniLM) in OpenAI's shape.

``float`` or ``base64`` (the openai SDK's default), so another paperchat (``RAG_EMBED_BASE_URL``) or any
OpenAI client can embed with it. Same bearer auth as the other ``/v1`` routes.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import FastAPI

from rag.api.auth import Auth
from rag.api.errors import error_response, openapi_errors
from rag.api.schemas import EmbeddingList, EmbeddingRequest
from rag.embed import WINDOW_TOKENS, canonical_name
from rag.engine import Engine
from rag.errors import BadQuestion


def add_embeddings_route(app: FastAPI, engine: Engine, auth: Auth) -> None:
    """``POST /v1/embeddings`` for ``engine``; the limits come from its settings."""
    settings = engine.settings

    @app.post("/v1/embeddings", response_model=EmbeddingList, dependencies=auth.read, tags=["openai"],
              responses=openapi_errors(400, 401, 404, 413, 422, 503))
    def embeddings(req: EmbeddingRequest):
        """OpenAI-compatible embeddings from the engine's model (unit vectors; the model reads 256 word pieces)."""
        served = engine.embedder.name
        if canonical_name(req.model, local=False) != served:
            return error_response(engine, 404, f"Model {req.model!r} is not served here; use {served!r}.",
                                  "invalid_request_error", code="model_not_found")
        texts = embedding_inputs(req.input, settings.api_embed_max_inputs, settings.api_embed_max_chars)
        vectors = engine.embed(texts)
        if req.dimensions is not None and req.dimensions != len(vectors[0]):
            raise BadQuestion(f"{served} returns {len(vectors[0])}-dimensional vectors; `dimensions` cannot change that.")
        tokens = sum(min(len(e.ids), WINDOW_TOKENS) for e in engine.embedder.tokenizer.encode_batch(texts))
        if req.encoding_format == "base64":
            import numpy as np

            data = [base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode() for v in vectors]
        else:
            data = vectors
        return {"data": [{"index": i, "embedding": v} for i, v in enumerate(data)], "model": served,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def embedding_inputs(value: Any, max_inputs: int, max_chars: int) -> list[str]:
    """The texts of an embeddings request, or a one-line BadQuestion naming what is wrong."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise BadQuestion("`input` must be a string or a list of strings (token arrays are not supported).")
    if not texts:
        raise BadQuestion("`input` is empty: send at least one text.")
    if len(texts) > max_inputs:
        raise BadQuestion(f"Too many inputs: {len(texts):,} (the limit is {max_inputs:,}, RAG_API_EMBED_MAX_INPUTS).")
    for i, text in enumerate(texts):
        if not text.strip():
            raise BadQuestion(f"`input[{i}]` is empty: every text must contain something to embed.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800") is valid JSON but no text the tokenizer takes
            raise BadQuestion(f"`input[{i}]` is not valid Unicode text.") from None
        if len(text) > max_chars:
            raise BadQuestion(f"`input[{i}]` is too long: {len(text):,} characters (the limit is {max_chars:,}, "
                              "RAG_API_EMBED_MAX_CHARS).")
    return texts

