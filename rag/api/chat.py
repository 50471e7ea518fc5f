"""The OpenAI-compatible chat routes: ``/v1/models`` and ``/v1/chat/completions``.

Any OpenAI client or chat front end can use the engine as a model called ``paperchat``: the message
content is the answer followed by its ``Sources:`` list of titles, an extra top-level ``citations``
field lists the cited papers (``{n, title, paper_id, url, date?, authors?}``, ``n`` being the ``[n]`` in
the text), and ``usage`` counts tokens with tiktoken (rag.usage). Each request builds its own
:class:`~rag.ChatSession` from the request's ``messages``: a request never sees another request's history.
"""

from __future__ import annotations

import re
import time
import uuid

from fastapi import FastAPI

from rag.api.auth import Auth
from rag.api.errors import openapi_errors, redact
from rag.api.schemas import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatMessage,
    ChatRequest,
    Choice,
    ModelCard,
    ModelList,
    mode_for,
)
from rag.api.sse import ClosingStreamingResponse, chat_events
from rag.engine import ChatSession, Engine
from rag.errors import BadQuestion
from rag.types import Answer, final_answer
from rag.usage import usage


def add_chat_routes(app: FastAPI, engine: Engine, auth: Auth) -> None:
    """``GET /v1/models`` and ``POST /v1/chat/completions`` for ``engine``."""

    @app.get("/v1/models", response_model=ModelList, dependencies=auth.read, responses=openapi_errors(401), tags=["openai"])
    def models():
        """``paperchat`` answers in the configured mode; ``paperchat-<mode>`` forces a mode. The last entry is
        the embedding model of ``POST /v1/embeddings``."""
        created = int(time.time())
        ids = [MODEL_ID] + [f"{MODEL_ID}-{m}" for m in engine.available_modes() if m != "auto"] + [engine.embedder.name]
        return ModelList(data=[ModelCard(id=i, created=created) for i in ids])

    @app.post("/v1/chat/completions", response_model=ChatCompletion, response_model_exclude_none=True,
              dependencies=auth.read, tags=["openai"],
              responses={**openapi_errors(400, 401, 409, 413, 422, 503),
                         200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE with stream=true"}})
    def chat_completions(req: ChatRequest):
        """OpenAI chat completion; earlier user/assistant messages are the conversation history."""
        model, mode = mode_for(req.model)
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
        return ClosingStreamingResponse(chat_events(engine, first, stream, cid, created, model, prompt),
                                        media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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

