"""paperchat's own read routes: ``/healthz``, ``/v1/search`` and ``/v1/ask``.

They return the engine's own JSON (``/v1/ask`` the same as ``rag ask --json``), not an OpenAI shape.
"""

from __future__ import annotations

from fastapi import FastAPI

from rag.api.auth import Auth
from rag.api.errors import error_response, openapi_errors, redact
from rag.api.schemas import AskRequest, AskResponse, Health, SearchRequest, SearchResponse
from rag.engine import Engine
from rag.errors import RagError
from rag.usage import usage


def add_health_route(app: FastAPI, engine: Engine, auth: Auth) -> None:
    """``GET /healthz``: the index's facts, or 503 when it cannot be read."""

    @app.get("/healthz", response_model=Health, dependencies=auth.read, responses=openapi_errors(401, 503), tags=["meta"])
    def healthz():
        """Index facts after a tiny search through each index (vectors and BM25); 503 when one fails."""
        try:
            stats = engine.health()
            mode = engine.resolve_mode()
        except Exception as exc:  # any failure to read the index means "not ready"
            message = str(exc) if isinstance(exc, RagError) else f"The index cannot be read ({type(exc).__name__})."
            return error_response(engine, 503, message, "index_unavailable", code=type(exc).__name__)
        return Health(status="ok", papers=stats["papers"], chunks=stats["chunks"], sources=stats["sources"],
                      index=str(stats["index_dir"]), embed_model=stats["embed_model"], answer_mode=mode)


def add_query_routes(app: FastAPI, engine: Engine, auth: Auth) -> None:
    """``POST /v1/search`` (ranked papers) and ``POST /v1/ask`` (one structured answer)."""

    @app.post("/v1/search", response_model=SearchResponse, dependencies=auth.read, tags=["paperchat"],
              responses=openapi_errors(400, 401, 409, 413, 422, 503))
    def search(req: SearchRequest):
        """Ranked papers for a query (hybrid dense + BM25), without an answer."""
        hits = engine.search(req.query, k=req.k, filters=req.filters())
        return {"query": req.query, "hits": [h.to_dict(full=True) for h in hits]}

    @app.post("/v1/ask", response_model=AskResponse, response_model_exclude_none=True, dependencies=auth.read,
              tags=["paperchat"],
              responses=openapi_errors(400, 401, 409, 413, 422, 503))
    def ask(req: AskRequest):
        """One question, one structured answer (the same JSON as ``rag ask --json``)."""
        answer = engine.ask(req.question, k=req.k, filters=req.filters(), llm=req.llm)
        data = answer.to_dict()
        data["notice"] = redact(data["notice"], engine)
        data["usage"] = usage([req.question], answer.text)
        return data
