"""Streamed chat completions: OpenAI's server-sent events, and a response that cleans up after a client.

The chunks are those of OpenAI's streaming API, so any OpenAI client renders them as they come; the
last one carries paperchat's extra fields (``citations``, ``refused``, ``notice``, ``usage``).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator

from fastapi.responses import StreamingResponse

from rag.api.errors import redact
from rag.engine import Engine
from rag.errors import RagError
from rag.security import one_line
from rag.types import Answer
from rag.usage import usage

log = logging.getLogger("rag.api")


def chat_events(engine: Engine, first: str | Answer, stream: Iterator[str | Answer], cid: str, created: int,
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


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None, **extra) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _sources_block(answer: Answer) -> str:
    rendered = answer.render()
    return rendered[len(answer.text):] if rendered.startswith(answer.text) else ""


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

