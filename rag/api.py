"""The HTTP API: OpenAI-compatible chat completions plus search, ask, ingest and health, with FastAPI.

Any OpenAI client or chat front end can use the engine as a model called ``paperchat``: the message
content is the answer followed by its ``Sources:`` list of titles, an extra top-level ``citations``
field lists the cited papers (``{n, title, paper_id, url, date?, authors?}``, ``n`` being the ``[n]`` in
the text), and ``usage`` counts tokens with tiktoken (rag.usage). Routes live under ``/v1`` and
``/healthz`` only, so the UI can mount Gradio at ``/`` on the same app (``rag serve``); ``rag api`` serves this app alone.

Design points:

* The engine is synchronous, so every endpoint is a plain ``def`` and FastAPI runs it in its thread
  pool. Each request builds its own :class:`~rag.ChatSession` from the request's ``messages``: a
  request never sees another request's history.
* ``RAG_API_TOKEN`` turns on bearer auth for every ``/v1`` route and ``/healthz`` (the OpenAPI schema
  and ``/docs`` stay public). Mounted beside the UI with a login (``RAG_UI_AUTH``), the same routes
  also accept the UI's login session, and require one of the two even without a token: one auth model
  per process. ``POST /v1/ingest`` writes to the index, so it is refused with 403 when no token is
  configured; it takes uploaded records or files, or server paths inside ``RAG_INGEST_ROOT`` only.
* Bodies larger than ``RAG_API_MAX_BODY_BYTES`` get 413 before any parsing.
* ``POST /v1/embeddings`` serves the engine's embedding model (the bundled MiniLM) in OpenAI's shape,
  ``float`` or ``base64`` (the openai SDK's default), so another paperchat (``RAG_EMBED_BASE_URL``) or
  any OpenAI client can embed with it. Same bearer auth as the other ``/v1`` routes.
* Errors use OpenAI's shape ``{"error": {"message", "type", "code", "param"}}`` with one-line
  messages; every error body, notice and log line passes through :func:`rag.security.redact`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.embed import WINDOW_TOKENS, canonical_name
from rag.engine import ChatSession, Engine
from rag.errors import (
    BadQuestion,
    CorpusError,
    EmbedderMismatch,
    EmbedderUnavailable,
    EmptyIndex,
    IndexUnavailable,
    RagError,
)
from rag.security import exposure_warning, one_line
from rag.security import redact as _redact
from rag.types import Answer, Filters, final_answer
from rag.usage import usage

log = logging.getLogger("rag.api")

#: The model id OpenAI clients use; ``paperchat-<mode>`` picks an answer mode (see ``/v1/models``).
MODEL_ID = "paperchat"
#: Prefixes of routes this module owns: the body limit and auth apply here, not to a mounted UI.
API_PREFIXES = ("/v1/", "/healthz")

#: (HTTP status, OpenAI error type) for each engine error users can act on.
ERROR_STATUS: dict[type[RagError], tuple[int, str]] = {
    BadQuestion: (400, "invalid_request_error"),
    CorpusError: (400, "invalid_request_error"),
    EmptyIndex: (409, "empty_index"),
    IndexUnavailable: (503, "index_unavailable"),
    EmbedderUnavailable: (503, "embedder_unavailable"),
    EmbedderMismatch: (409, "embedder_mismatch"),
}


# --- request and response models --------------------------------------------------------------------
class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape, so OpenAI SDKs show ``message`` as the exception text."""

    error: ErrorDetail


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


Year = Field(None, ge=1, le=9999, description="Inclusive year bound on the paper's date.")


class FilterFields(BaseModel):
    year_from: int | None = Year
    year_to: int | None = Year
    sources: list[str] = Field(default_factory=list, description="Corpus file names to restrict to.")

    def filters(self) -> Filters | None:
        filters = Filters.years(self.year_from, self.year_to, self.sources)
        return None if filters.is_empty() else filters


class ChatRequest(FilterFields):
    """OpenAI's chat request; sampling options are accepted and ignored, paperchat options are extra."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=50, description="Papers handed to the answerer (paperchat extension).")


class SearchRequest(FilterFields):
    query: str
    k: int = Field(10, ge=1, le=50)


class AskRequest(FilterFields):
    question: str
    k: int | None = Field(None, ge=1, le=50)
    llm: Literal["auto", "openai", "local", "extractive"] | None = Field(None, description=(
        "Answer mode. auto (the default, RAG_LLM): openai when an OpenAI-compatible endpoint is configured, else "
        "extractive (quoted, question-aware composition); local = the bundled SmolLM2 on CPU."))


class IngestRequest(BaseModel):
    """Papers to add: uploaded ``records`` and/or server ``paths`` inside RAG_INGEST_ROOT."""

    records: list[dict[str, Any]] = Field(default_factory=list, max_length=100_000, description=(
        "Papers as JSON objects: title, abstract, and optionally authors, date, upvotes, url."))
    source: str = Field("upload.jsonl", max_length=200, description="Source label stored with uploaded records.")
    paths: list[str] = Field(default_factory=list, max_length=1000, description=(
        "Files or folders on the server, relative to RAG_INGEST_ROOT or absolute inside it."))
    prune: bool = Field(False, description="Remove papers whose sources are all named by this request but which "
                                           "it no longer contains.")


class EmbeddingRequest(BaseModel):
    """OpenAI's embeddings request. ``input`` is checked by hand so a bad one gets a one-line 400."""

    model_config = ConfigDict(extra="allow")
    input: Any = Field(..., description="A string or a list of strings (token arrays are not supported).")
    model: str = Field(..., description="The served model, e.g. all-MiniLM-L6-v2 (see GET /v1/models).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


class EmbeddingItem(BaseModel):
    object: str = "embedding"
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of little-endian float32 (encoding_format).")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: str = "list"
    data: list[EmbeddingItem]
    model: str
    usage: EmbeddingUsage


class SearchHit(BaseModel):
    title: str
    paper_id: str
    score: float
    snippet: str
    dense: float
    bm25: float
    date: str
    authors: int | None
    upvotes: int | None
    url: str
    sources: list[str]


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class CitationOut(BaseModel):
    """A cited paper; the same shape as ``Citation.to_dict`` everywhere (CLI, Python, UI)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "n": 1, "title": "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs",
        "paper_id": "3f1c…", "url": "https://arxiv.org/search/?searchtype=title&query=Tower%2B", "date": "2025-06-20",
        "authors": 7}})
    n: int = Field(description="The [n] marker in the answer text (1..m in order of first use).")
    title: str
    paper_id: str
    url: str = Field(description="The paper's own URL when the corpus gives one, else an arXiv title search.")
    date: str | None = Field(None, description="ISO date, when known.")
    authors: int | None = Field(None, description="Number of authors, when known.")


class Usage(BaseModel):
    """Tokens counted with tiktoken (cl100k_base): the client's messages and the returned content."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class SourceOut(BaseModel):
    title: str
    paper_id: str
    score: float
    snippet: str


class AskResponse(BaseModel):
    question: str
    answer: str
    citations: list[CitationOut]
    sources: list[SourceOut]
    refused: bool
    mode: str
    model: str
    notice: str
    language: str = "en"
    timings_ms: dict[str, float]
    standalone_question: str = ""
    usage: Usage


class IngestResponse(BaseModel):
    added: int
    updated: int
    unchanged: int
    removed: int
    papers: int
    chunks: int
    seconds: float
    errors: list[str]


class Health(BaseModel):
    status: str
    papers: int
    chunks: int
    sources: list[str]
    index: str
    embed_model: str
    answer_mode: str


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str = "paperchat"


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: str = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut] = Field(description="The cited papers, in the order of their [n] markers.")
    refused: bool = False
    notice: str = ""
    standalone_question: str = Field("", description="What was searched for: the question made standalone "
                                                       "from the conversation (paperchat extension).")
    usage: Usage


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {400: "Bad question or corpus", 401: "Missing or wrong bearer token", 403: "Ingest disabled",
                 404: "Unknown model", 409: "The index is empty", 413: "Request body too large", 422: "Invalid request",
                 503: "Index (Chroma) or LLM unavailable"}
    return {code: {"model": ErrorBody, "description": described[code]} for code in codes}


# --- helpers -------------------------------------------------------------------------------------------
def redact(text: str, engine: Engine) -> str:
    """``text`` without secrets (:func:`rag.security.redact` with this engine's settings)."""
    return _redact(text, engine.settings)


def error_response(engine: Engine, status: int, message: str, kind: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    line = one_line(message, engine.settings)  # one line, no secrets, encodable
    body = ErrorBody(error=ErrorDetail(message=line, type=kind, code=code))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _mode_for(model: str) -> tuple[str, str | None]:
    """(model id to echo, answer mode): ``paperchat-local`` forces local mode; other names use the default."""
    if model.startswith(MODEL_ID + "-"):
        mode = model[len(MODEL_ID) + 1:]
        if mode in ("auto", "openai", "local", "extractive"):
            return model, mode
    return MODEL_ID, None


def _strip_sources(text: str) -> str:
    """An earlier assistant turn without the Sources block we appended to it."""
    return text.split("\n\nSources:\n", 1)[0].strip()


def _cited_titles(text: str) -> list[str]:
    """The titles listed in the Sources block we appended to an earlier answer ("[1] Title" lines)."""
    block = text.split("\n\nSources:\n", 1)
    if len(block) < 2:
        return []
    return [m.group(1).strip() for m in re.finditer(r"^\s*\[\d+\]\s*(.+)$", block[1], re.M)]


def session_from_messages(engine: Engine, messages: list[ChatMessage], **options) -> tuple[ChatSession, str]:
    """A fresh chat session holding the earlier turns of ``messages``, and the question to answer.

    Each earlier turn is condensed with the deterministic rule (as an extractive session would have
    done), and the papers an earlier answer cited are read back from its Sources block, so "it" in the
    last question means the paper the client was shown. Only the last question may use the LLM.
    """
    from rag.chat import Turn, rule_plan
    from rag.engine import fit_query

    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise BadQuestion("The last message must come from the user: it is the question to answer.")
    question = turns[-1].text()
    session = engine.chat(**options)
    # Only the turns the session keeps can reach retrieval or the model: condensing the rest would be
    # wasted work (quadratic in a 10,000-message conversation) and count against the length limit.
    earlier = turns[:-1][-2 * session.max_turns:]
    limit = engine.settings.max_question_chars
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for m in earlier:
        if m.role == "user":
            if pending:
                pairs.append((pending, ""))
            pending = _valid_text(" ".join(m.text().split()))
        elif pending:
            pairs.append((pending, _valid_text(m.text())))
            pending = None
    if pending:
        pairs.append((pending, ""))
    history: list[Turn] = []
    for asked, reply in pairs[-session.max_turns:]:
        if not asked.strip():
            continue
        asked = engine.clean_question(fit_query(asked, limit))
        plan = rule_plan(engine, asked, history)
        history.append(Turn(question=asked, standalone=fit_query(plan.standalone, limit), answer=_strip_sources(reply),
                            cited=_cited_titles(reply), frame=plan.frame, kind=plan.kind))
    session.turns = history
    return session, question


def _valid_text(text: str) -> str:
    """Earlier turns with unencodable characters (lone surrogates) replaced: only the question is refused."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None, **extra) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _sources_block(answer: Answer) -> str:
    rendered = answer.render()
    return rendered[len(answer.text):] if rendered.startswith(answer.text) else ""


# --- body size limit -------------------------------------------------------------------------------------
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


# --- the app ---------------------------------------------------------------------------------------------
def create_app(engine: Engine, warm: bool = True, login_check: Callable[[Request], bool] | None = None) -> FastAPI:
    """The API app for ``engine``. ``warm`` loads the index and embedding model at startup.

    ``login_check``: given by the UI when it is mounted with a login (``RAG_UI_AUTH``); it says whether a
    request carries a signed-in UI session. The API then requires that session or the token, so the
    routes beside a login-protected UI are never open to anyone.
    """
    settings = engine.settings
    token = settings.api_token

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
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes, engine=engine)

    bearer = HTTPBearer(auto_error=False, description="RAG_API_TOKEN, when the server sets one.")

    def token_ok(creds: HTTPAuthorizationCredentials | None) -> bool:
        return bool(token and creds and hmac.compare_digest(creds.credentials.encode(), token.encode()))

    def check_token(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if token_ok(creds):
            return
        if login_check is not None:
            if login_check(request):
                return
            raise _AuthError(401, "Sign in to the web UI first, or send `Authorization: Bearer <RAG_API_TOKEN>`"
                                  + ("." if token else " (set RAG_API_TOKEN to use the API without the UI)."))
        if token:
            raise _AuthError(401, "Missing or wrong bearer token: send `Authorization: Bearer <RAG_API_TOKEN>`.")

    def check_write(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not token:
            raise _AuthError(403, "Ingest over HTTP is disabled because no API token is configured: "
                                  "set RAG_API_TOKEN and send it as a bearer token.")
        if not token_ok(creds):
            raise _AuthError(401, "Missing or wrong bearer token: send `Authorization: Bearer <RAG_API_TOKEN>`.")

    auth = [Depends(check_token)]

    @app.exception_handler(_AuthError)
    async def _auth_error(request: Request, exc: _AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        kind = "authentication_error" if exc.status == 401 else "permission_error"
        return error_response(engine, exc.status, str(exc), kind, headers=headers)

    @app.exception_handler(RagError)
    async def _rag_error(request: Request, exc: RagError):
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

    @app.get("/healthz", response_model=Health, dependencies=auth, responses=_errors(401, 503), tags=["meta"])
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

    @app.get("/v1/models", response_model=ModelList, dependencies=auth, responses=_errors(401), tags=["openai"])
    def models():
        """``paperchat`` answers in the configured mode; ``paperchat-<mode>`` forces a mode. The last entry is
        the embedding model of ``POST /v1/embeddings``."""
        created = int(time.time())
        ids = [MODEL_ID] + [f"{MODEL_ID}-{m}" for m in engine.available_modes() if m != "auto"] + [engine.embedder.name]
        return ModelList(data=[ModelCard(id=i, created=created) for i in ids])

    @app.post("/v1/chat/completions", response_model=ChatCompletion, response_model_exclude_none=True,
              dependencies=auth, tags=["openai"],
              responses={**_errors(400, 401, 409, 413, 422, 503),
                         200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE with stream=true"}})
    def chat_completions(req: ChatRequest):
        """OpenAI chat completion; earlier user/assistant messages are the conversation history."""
        model, mode = _mode_for(req.model)
        session, question = session_from_messages(engine, req.messages, k=req.k, filters=req.filters(), llm=mode)
        stream = session.stream(question)
        first = next(stream)  # errors about the question or the index surface here, before any byte is sent
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not req.stream:
            answer = first if isinstance(first, Answer) else final_answer(stream)
            content = answer.render()
            return ChatCompletion(id=cid, created=created, model=model,
                                  choices=[Choice(message=AssistantMessage(content=content))],
                                  citations=[c.to_dict() for c in answer.citations], refused=answer.refused,
                                  notice=redact(answer.notice, engine), standalone_question=answer.standalone_question,
                                  usage=usage([m.text() for m in req.messages], content))
        prompt = [m.text() for m in req.messages]
        return ClosingStreamingResponse(_sse(engine, first, stream, cid, created, model, prompt),
                                        media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/v1/search", response_model=SearchResponse, dependencies=auth, tags=["paperchat"],
              responses=_errors(400, 401, 409, 413, 422, 503))
    def search(req: SearchRequest):
        """Ranked papers for a query (hybrid dense + BM25), without an answer."""
        hits = engine.search(req.query, k=req.k, filters=req.filters())
        return {"query": req.query, "hits": [h.to_dict(full=True) for h in hits]}

    @app.post("/v1/ask", response_model=AskResponse, response_model_exclude_none=True, dependencies=auth,
              tags=["paperchat"],
              responses=_errors(400, 401, 409, 413, 422, 503))
    def ask(req: AskRequest):
        """One question, one structured answer (the same JSON as ``rag ask --json``)."""
        answer = engine.ask(req.question, k=req.k, filters=req.filters(), llm=req.llm)
        data = answer.to_dict()
        data["notice"] = redact(data["notice"], engine)
        data["usage"] = usage([req.question], answer.text)
        return data

    @app.post("/v1/embeddings", response_model=EmbeddingList, dependencies=auth, tags=["openai"],
              responses=_errors(400, 401, 404, 413, 422, 503))
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

    @app.post("/v1/ingest", response_model=IngestResponse, dependencies=[Depends(check_write)], tags=["paperchat"],
              responses=_errors(400, 401, 403, 413, 422, 503), openapi_extra=_INGEST_BODY)
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

    return app


_INGEST_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": IngestRequest.model_json_schema(ref_template="#/components/schemas/{model}")},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "paths": {"type": "array", "items": {"type": "string"}},
        "prune": {"type": "boolean"}}}},
}}}


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that closes its (synchronous) body generator however the response ends.

    Why: when a client disconnects mid-stream, Starlette stops iterating but never closes the
    generator; its ``finally`` blocks (which close the LLM call and release the local model's
    one-generation-at-a-time lock) then wait for the garbage collector, and every later local answer
    stalled behind the abandoned one. So the response listens for the disconnect itself, raises the
    request's abandon signal (:func:`rag.llm.base.abandon_signal`: the backend stops within one token),
    and closes the generator in a worker thread, shielded from the cancellation that ended the response.
    """

    def __init__(self, content: Iterator[str], **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._source = content

    async def __call__(self, scope, receive, send) -> None:
        import anyio

        from rag.llm.base import abandon_signal

        gone = abandon_signal()  # seen by the worker threads that produce this answer
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    try:
                        await self.stream_response(send)
                    except OSError:  # the server reports a send to a client that has gone
                        gone.set()
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                # Listen for the client going away whatever the ASGI version: with spec 2.4 Starlette only
                # notices at the next send, and a model can think for many seconds between two sends.
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_close_quietly, self._source)


def _close_quietly(gen: Iterator[str]) -> None:
    try:
        gen.close()  # type: ignore[attr-defined]
    except ValueError:  # still running in another thread: it ends at its next yield
        log.warning("a streamed answer could not be closed while it was running")


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


class _AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _sse(engine: Engine, first: str | Answer, stream: Iterator[str | Answer], cid: str, created: int,
         model: str, prompt: list[str] | None = None) -> Iterator[str]:
    """SSE chunks: role, text deltas, the Sources block, a final chunk with ``citations`` and ``usage``, ``[DONE]``.

    A failure after streaming began cannot change the status code any more, so it ends the answer
    cleanly with a one-line note instead of cutting the connection.
    """
    yield _chunk(cid, created, model, {"role": "assistant", "content": ""})
    streamed, answer, extra = "", None, {}
    try:
        item: str | Answer | None = first
        while item is not None:
            if isinstance(item, Answer):
                answer = item
            elif item:
                streamed += item
                yield _chunk(cid, created, model, {"content": item})
            item = next(stream, None)
    except Exception as exc:  # the service stays up; the client gets a clean end
        if not isinstance(exc, RagError):
            log.error("stream failed:\n%s", redact("".join(traceback.format_exception(exc)), engine))
        note = str(exc) if isinstance(exc, RagError) else "the answer was interrupted by an internal error"
        yield _chunk(cid, created, model, {"content": f"\n\n({one_line(note, engine.settings)})"})
    finally:
        # A client that disconnects closes this generator: close the engine's too, so an LLM call
        # (and the local model's one-generation-at-a-time lock) is released now, not at garbage collection.
        close = getattr(stream, "close", None)
        if close:
            close()
    if answer is not None:
        if answer.text != streamed and answer.text.startswith(streamed):
            yield _chunk(cid, created, model, {"content": answer.text[len(streamed):]})
            streamed = answer.text
        tail = _sources_block(answer)
        if tail:
            yield _chunk(cid, created, model, {"content": tail})
            streamed += tail
        extra = {"citations": [c.to_dict() for c in answer.citations], "refused": answer.refused,
                 "notice": redact(answer.notice, engine),
                 "standalone_question": answer.standalone_question}
    extra["usage"] = usage(prompt or [], streamed)
    yield _chunk(cid, created, model, {}, "stop", **extra)
    yield "data: [DONE]\n\n"


def warm_up(engine: Engine) -> None:
    """Open the index, load BM25 and the embedding model, so the first request is not the slow one."""
    try:
        engine.store.count()
        engine.bm25.retriever()
        engine.embedder.embed_query("warm up")
    except Exception as exc:  # a down Chroma server must not stop the API from starting (healthz says 503)
        log.warning("warm-up incomplete: %s", redact(str(exc), engine))


# --- serving ---------------------------------------------------------------------------------------------
def default_port(engine: Engine) -> int:
    """``rag api`` listens on RAG_PORT + 1 (7861): beside the UI's 7860, clear of Chroma's 8000."""
    return engine.settings.port + 1


def serve(engine: Engine, host: str | None = None, port: int | None = None) -> None:
    """Run the API with uvicorn until interrupted (``rag api``)."""
    import uvicorn

    host = host or engine.settings.host
    port = port or default_port(engine)
    warning = exposure_warning(engine.settings, host, ui=False)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"paperchat API on http://{host}:{port}/v1 (OpenAPI: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(create_app(engine), host=host, port=port, log_level="info")


class BackgroundServer:
    """The API served by uvicorn in a daemon thread: for tests, benchmarks and embedding in a Python app."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 120.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
