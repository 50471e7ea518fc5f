"""Every API error in OpenAI's shape ``{"error": {"message", "type", "code", "param"}}``.

OpenAI SDKs show ``message`` as the exception text, so each message is one line, and every error body
and log line passes through :func:`rag.security.redact` first: a secret in an exception never reaches a
client or the server log.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import errors
from rag.api.schemas import ErrorBody, ErrorDetail
from rag.engine import Engine
from rag.security import one_line
from rag.security import redact as _redact

log = logging.getLogger("rag.api")

#: (HTTP status, OpenAI error type) for each engine error users can act on.
ERROR_STATUS: dict[type[errors.RagError], tuple[int, str]] = {
    errors.BadQuestion: (400, "invalid_request_error"),
    errors.CorpusError: (400, "invalid_request_error"),
    errors.EmptyIndex: (409, "empty_index"),
    errors.IndexUnavailable: (503, "index_unavailable"),
    errors.EmbedderUnavailable: (503, "embedder_unavailable"),
    errors.EmbedderMismatch: (409, "embedder_mismatch"),
}

#: What each error status means, for the OpenAPI schema of the routes that can answer it.
_DESCRIBED = {400: "Bad question or corpus", 401: "Missing or wrong bearer token", 403: "Ingest disabled",
              404: "Unknown model", 409: "The index is empty", 413: "Request body too large", 422: "Invalid request",
              503: "Index (Chroma) or LLM unavailable"}


class AuthError(Exception):
    """A request without the credentials a route needs: 401 (who are you?) or 403 (not allowed at all)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def openapi_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route that can answer ``codes``, documented with the error body."""
    return {code: {"model": ErrorBody, "description": _DESCRIBED[code]} for code in codes}


def redact(text: str, engine: Engine) -> str:
    """``text`` without secrets (:func:`rag.security.redact` with this engine's settings)."""
    return _redact(text, engine.settings)


def error_response(engine: Engine, status: int, message: str, kind: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    line = one_line(message, engine.settings)  # one line, no secrets, encodable
    body = ErrorBody(error=ErrorDetail(message=line, type=kind, code=code))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI, engine: Engine) -> None:
    """Answer auth, engine, validation, routing and unexpected errors in the one error shape."""

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        kind = "authentication_error" if exc.status == 401 else "permission_error"
        return error_response(engine, exc.status, str(exc), kind, headers=headers)

    @app.exception_handler(errors.RagError)
    async def _rag_error(request: Request, exc: errors.RagError):
        status, kind = next((v for t, v in ERROR_STATUS.items() if isinstance(exc, t)), (400, "invalid_request_error"))
        return error_response(engine, status, str(exc), kind, code=type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return error_response(engine, 422, "Invalid request: " + "; ".join(parts), "invalid_request_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # FastAPI's own errors (unparsable body, unknown route, wrong method) in the same shape.
        kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
        return error_response(engine, exc.status_code, str(exc.detail), kind, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.error("internal error on %s %s:\n%s", request.method, request.url.path,
                  redact("".join(traceback.format_exception(exc)), engine))
        return error_response(engine, 500, "Internal error; the server log has the details.", "server_error")
