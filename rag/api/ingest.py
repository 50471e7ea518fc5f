"""``POST /v1/ingest``: papers added over HTTP, the API's only route that writes to the index.

It takes uploaded records or files, or server paths inside ``RAG_INGEST_ROOT`` only, and needs the API
token (403 when none is configured). The body is parsed by hand because it is either JSON or multipart,
and FastAPI can declare only one; :data:`_INGEST_BODY` documents both in the OpenAPI schema.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from rag.api.auth import Auth
from rag.api.errors import openapi_errors
from rag.api.schemas import IngestRequest, IngestResponse
from rag.engine import Engine

_INGEST_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": IngestRequest.model_json_schema(ref_template="#/components/schemas/{model}")},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "paths": {"type": "array", "items": {"type": "string"}},
        "prune": {"type": "boolean"}}}},
}}}


def add_ingest_route(app: FastAPI, engine: Engine, auth: Auth) -> None:
    """``POST /v1/ingest`` for ``engine``, behind the token (:meth:`Auth.check_write`)."""

    @app.post("/v1/ingest", response_model=IngestResponse, dependencies=auth.write, tags=["paperchat"],
              responses=openapi_errors(400, 401, 403, 413, 422, 503), openapi_extra=_INGEST_BODY)
    async def ingest(request: Request):
        """Add papers (needs the API token): JSON ``records``, multipart ``files`` (JSONL, CSV or a Daily
        Papers listing), or server ``paths`` inside RAG_INGEST_ROOT (regular files only, size-capped)."""
        from starlette.concurrency import run_in_threadpool

        files: list[tuple[str, bytes]] = []
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=100, max_fields=1000)
            for item in form.getlist("files"):
                if not isinstance(item, str):
                    files.append((item.filename or "upload.txt", await item.read()))
            fields = {"paths": [v for v in form.getlist("paths") if isinstance(v, str)],
                      "prune": str(form.get("prune") or "false").strip().lower() in ("1", "true", "yes", "on")}
        else:
            try:
                fields = json.loads(await request.body() or b"{}")
            except ValueError:
                raise RequestValidationError([{"loc": ("body",), "msg": "the body is not valid JSON"}]) from None
        try:
            req = IngestRequest.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        report = await run_in_threadpool(engine.ingest_from_client, req.paths, files, req.records, req.source, req.prune)
        return report.to_dict()
