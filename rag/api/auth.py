"""Who may call the API: one auth model per process.

``RAG_API_TOKEN`` turns on bearer auth for every ``/v1`` route and ``/healthz`` (the OpenAPI schema and
``/docs`` stay public). Mounted beside the UI with a login (``RAG_UI_AUTH``), the same routes also accept
the UI's login session, and require one of the two even without a token, so the routes beside a
login-protected UI are never open to anyone. Writing to the index (ingest) always needs the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.api.errors import AuthError

#: The bearer scheme in the OpenAPI schema; ``auto_error=False`` so a missing token gets our error shape.
BEARER = HTTPBearer(auto_error=False, description="RAG_API_TOKEN, when the server sets one.")

_WRONG_TOKEN = "Missing or wrong bearer token: send `Authorization: Bearer <RAG_API_TOKEN>`."


class Auth:
    """The checks of one app, as FastAPI dependencies: :meth:`check_read` and :meth:`check_write`.

    ``login_check``: given by the UI when it is mounted with a login; it says whether a request carries
    a signed-in UI session.
    """

    def __init__(self, token: str | None, login_check: Callable[[Request], bool] | None = None) -> None:
        self.token = token
        self.login_check = login_check

    def token_ok(self, creds: HTTPAuthorizationCredentials | None) -> bool:
        """Whether ``creds`` carry the configured token (compared in constant time)."""
        token = self.token
        return bool(token and creds and hmac.compare_digest(creds.credentials.encode(), token.encode()))

    def check_read(self, request: Request, creds: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> None:
        if self.token_ok(creds):
            return
        if self.login_check is not None:
            if self.login_check(request):
                return
            raise AuthError(401, "Sign in to the web UI first, or send `Authorization: Bearer <RAG_API_TOKEN>`"
                                 + ("." if self.token else " (set RAG_API_TOKEN to use the API without the UI)."))
        if self.token:
            raise AuthError(401, _WRONG_TOKEN)

    def check_write(self, creds: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> None:
        if not self.token:
            raise AuthError(403, "Ingest over HTTP is disabled because no API token is configured: "
                                 "set RAG_API_TOKEN and send it as a bearer token.")
        if not self.token_ok(creds):
            raise AuthError(401, _WRONG_TOKEN)

    @property
    def read(self) -> list:
        """``dependencies=`` of a route any signed-in client (token or UI login) may call."""
        return [Depends(self.check_read)]

    @property
    def write(self) -> list:
        """``dependencies=`` of a route that changes the index: the token only."""
        return [Depends(self.check_write)]
