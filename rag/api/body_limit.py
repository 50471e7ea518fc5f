"""Bodies larger than ``RAG_API_MAX_BODY_BYTES`` get 413 before any parsing.

A pure ASGI middleware rather than a FastAPI dependency: the limit must hold before FastAPI (or
Starlette's multipart parser) reads the body, and for bodies that declare no length.
"""

from __future__ import annotations

from rag.api.errors import error_response
from rag.engine import Engine

#: Prefixes of the routes the API owns: the body limit applies here, not to a mounted UI.
API_PREFIXES = ("/v1/", "/healthz")


class BodyLimit:
    """Pure ASGI middleware: 413 for API request bodies above ``limit`` bytes (declared or streamed)."""

    def __init__(self, app, limit: int, engine: Engine) -> None:
        self.app = app
        self.limit = limit
        self.engine = engine

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._reject(scope, receive, send)
        # Read the body up front (it is at most ``limit`` bytes), then replay it to the app.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._reject(scope, receive, send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _reject(self, scope, receive, send):
        response = error_response(self.engine, 413, f"Request body too large: the limit is {self.limit:,} bytes "
                                  "(RAG_API_MAX_BODY_BYTES).", "request_too_large")
        await response(scope, receive, send)

