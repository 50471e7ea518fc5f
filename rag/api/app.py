"""The API's FastAPI app: one engine, its auth, its body limit, its error shape and its routes.

The engine is synchronous, so every endpoint is a plain ``def`` and FastAPI runs it in its thread pool.
Routes live under ``/v1`` and ``/healthz`` only, so the UI can mount Gradio at ``/`` on the same app
(``rag serve``); ``rag api`` serves this app alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from rag.api.auth import Auth
from rag.api.body_limit import BodyLimit
from rag.api.chat import add_chat_routes
from rag.api.embeddings import add_embeddings_route
from rag.api.errors import install_error_handlers, redact
from rag.api.ingest import add_ingest_route
from rag.api.native import add_health_route, add_query_routes
from rag.engine import Engine

log = logging.getLogger("rag.api")


def create_app(engine: Engine, warm: bool = True, login_check: Callable[[Request], bool] | None = None) -> FastAPI:
    """The API app for ``engine``. ``warm`` loads the index and embedding model at startup.

    ``login_check``: given by the UI when it is mounted with a login (``RAG_UI_AUTH``); it says whether a
    request carries a signed-in UI session. The API then requires that session or the token, so the
    routes beside a login-protected UI are never open to anyone.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(warm_up, engine)
        yield

    app = FastAPI(
        title="paperchat API",
        version="0.1.0",
        description="Question answering over research-paper abstracts; every answer cites paper titles. "
                    "OpenAI-compatible at /v1/chat/completions (model `paperchat`).",
        lifespan=lifespan,
    )
    app.state.engine = engine
    # Wraps everything mounted later too (the UI), but only checks paths under API_PREFIXES.
    app.add_middleware(BodyLimit, limit=engine.settings.api_max_body_bytes, engine=engine)
    install_error_handlers(app, engine)
    auth = Auth(engine.settings.api_token, login_check)
    # The order here is the order of the paths in the OpenAPI schema and on /docs.
    add_health_route(app, engine, auth)
    add_chat_routes(app, engine, auth)
    add_query_routes(app, engine, auth)
    add_embeddings_route(app, engine, auth)
    add_ingest_route(app, engine, auth)
    return app


def warm_up(engine: Engine) -> None:
    """Open the index, load BM25 and the embedding model, so the first request is not the slow one."""
    try:
        engine.store.count()
        engine.bm25.retriever()
        engine.embedder.embed_query("warm up")
    except Exception as exc:  # a down Chroma server must not stop the API from starting (healthz says 503)
        log.warning("warm-up incomplete: %s", redact(str(exc), engine))
