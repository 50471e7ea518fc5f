"""Serving the API: ``rag api`` in the foreground, or :class:`BackgroundServer` in a thread."""

from __future__ import annotations

import socket
import sys
import threading
import time

from rag.api.app import create_app
from rag.engine import Engine
from rag.security import exposure_warning


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
