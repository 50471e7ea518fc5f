"""The optional UI login (``RAG_UI_AUTH=user:password``): Gradio's password check, a throttle on failed
sign-ins, and the check that lets the HTTP API beside the UI accept the same signed-in session.
"""

from __future__ import annotations

import hmac
import math

from rag.errors import RagError
from rag.security import LoginThrottle


def parse_auth(value: str) -> tuple[str, str] | None:
    """``RAG_UI_AUTH=user:password`` -> ("user", "password"); empty -> no login."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise RagError("RAG_UI_AUTH must look like user:password (both non-empty).")
    return user, password


def check_password(auth: tuple[str, str]):
    """Gradio's login check for one user, comparing in constant time."""
    user, password = auth

    def check(username: str, given: str) -> bool:
        same_user = hmac.compare_digest(str(username).encode(), user.encode())
        return hmac.compare_digest(str(given).encode(), password.encode()) and same_user

    return check


class LoginThrottleMiddleware:
    """Pure ASGI middleware: failed UI sign-ins per client address lock that client out with 429 for 1, 2,
    4 ... s (up to 5 min) after the first few, so a password cannot be guessed at request speed."""

    def __init__(self, app, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            from fastapi.responses import JSONResponse

            seconds = math.ceil(wait)
            response = JSONResponse({"detail": f"Too many failed sign-ins: try again in {seconds} s."},
                                    status_code=429, headers={"Retry-After": str(seconds)})
            return await response(scope, receive, send)
        status: list[int] = []

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            self.throttle.succeeded(client)
        elif status and 400 <= status[0] < 500:
            self.throttle.failed(client)


def login_session_check(mounted: dict):
    """Whether a request carries a signed-in session of the mounted Gradio app (its login cookie).

    Gradio keeps issued session tokens in ``App.tokens`` and sets them as ``access-token[-unsecure]-<id>``
    cookies; this mirrors its own ``get_current_user`` so the API beside the UI accepts the same login.
    ``mounted["app"]`` is the Gradio app, known once it is mounted; until then no request passes.
    """

    def check(request) -> bool:
        server = mounted.get("app")
        tokens = getattr(server, "tokens", None)
        if not tokens:
            return False
        cookie_id = getattr(server, "cookie_id", "")
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            value = request.cookies.get(name)
            if value and value in tokens:
                return True
        return False

    return check
