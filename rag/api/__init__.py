"""The HTTP API: OpenAI-compatible chat completions and embeddings, plus search, ask, ingest and health.

Any OpenAI client or chat front end can use the engine as a model called ``paperchat``. One module per
concern:

* ``app``: :func:`create_app`, the FastAPI app for one engine (the UI mounts Gradio beside it);
  ``server``: ``rag api`` (:func:`serve`) and :class:`BackgroundServer` for tests and embedding.
* ``schemas``: request and response models, the model id and the answer-mode names;
  ``errors``: OpenAI's error shape, every message one line and redacted (:func:`rag.security.redact`).
* ``auth``: ``RAG_API_TOKEN`` bearer auth, or the UI's login when mounted beside a login-protected UI;
  ``body_limit``: 413 above ``RAG_API_MAX_BODY_BYTES`` before any parsing.
* Routes: ``chat`` (``/v1/models``, ``/v1/chat/completions``, streamed by ``sse``), ``native``
  (``/healthz``, ``/v1/search``, ``/v1/ask``), ``embeddings`` and ``ingest``.
"""

from rag.api.app import create_app
from rag.api.server import BackgroundServer, serve

__all__ = ["BackgroundServer", "create_app", "serve"]
