"""Every server the tests start, on 127.0.0.1: stand-in LLM endpoints served from a thread (a scripted
OpenAI-compatible stub, one that never answers, a proxy that kills its upstream mid-stream) and the real
Chroma and llama.cpp servers as child processes.

Each binds its own port and ``close()``/``stop()`` (or leaving the ``with`` block) releases it, so a test
leaves no listener behind for the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

from rag.bench.server import chroma_command, stop_group

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on: for a server started later, or an endpoint that must be unreachable."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# --- servers run from a thread of the test process ------------------------------------------------------
class Threaded:
    """A socketserver served from a daemon thread until ``close()``."""

    def __init__(self, server: socketserver.TCPServer) -> None:
        self._server = server
        self.port: int = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The OpenAI-style base URL (…/v1) a client is configured with."""
        return f"http://{LOOPBACK}:{self.port}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Request:
    """One chat-completion request the stub received."""

    body: dict
    headers: Message

    @property
    def messages(self) -> list[dict]:
        return self.body["messages"]


@dataclass(frozen=True)
class Failure:
    """An HTTP error the stub answers with, in the OpenAI error shape."""

    status: int
    message: str
    type: str = "error"


Reply = str | Failure | Callable[[Request], str | Failure]


class StubLLM(Threaded):
    """An OpenAI-compatible server (``GET /v1/models``, ``POST /v1/chat/completions``) whose replies the test
    scripts, so the real openai SDK, our retries and our checks all run while only the model is faked.

    ``reply`` is the assistant's text, a ``Failure``, or a function of the ``Request`` returning either; a
    test may reassign it between questions. Every chat request is kept in ``requests``. A request that asks
    to stream gets server-sent events, as from a real server.
    """

    #: Characters per streamed delta: several deltas a sentence, as a real model streams.
    CHUNK = 9

    def __init__(self, reply: Reply = "", model: str = "gpt-stub") -> None:
        self.reply, self.model = reply, model
        self.requests: list[Request] = []
        super().__init__(ThreadingHTTPServer((LOOPBACK, 0), partial(_StubHandler, self)))

    def answer(self, request: Request) -> str | Failure:
        self.requests.append(request)
        return self.reply(request) if callable(self.reply) else self.reply


class _StubHandler(BaseHTTPRequestHandler):
    def __init__(self, stub: StubLLM, *args) -> None:
        self.stub = stub
        super().__init__(*args)  # handles the request

    def log_message(self, *args) -> None:  # keeps pytest's output to the test's own
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._json(200, {"object": "list", "data": [{"id": self.stub.model, "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        reply = self.stub.answer(Request(body, self.headers))
        model = body.get("model", self.stub.model)
        if isinstance(reply, Failure):
            self._json(reply.status, {"error": {"message": reply.message, "type": reply.type}})
        elif body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(reply), StubLLM.CHUNK):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": {"content": reply[i:i + StubLLM.CHUNK]},
                                      "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
        else:
            self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": model,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": reply}}]})

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection its client keeps open must not hold up close()


class _Connection(socketserver.BaseRequestHandler):
    def __init__(self, listener: Listener, *args) -> None:
        self.listener = listener
        super().__init__(*args)  # handles the connection

    def handle(self) -> None:
        self.listener.handle(self.request)


class Listener(Threaded):
    """A raw TCP server: each accepted connection goes to ``handle`` on its own thread and is closed when
    ``handle`` returns."""

    def __init__(self) -> None:
        super().__init__(_TCPServer((LOOPBACK, 0), partial(_Connection, self)))

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class SilentLLM(Listener):
    """An LLM endpoint that accepts connections and never replies: an overloaded or hung server.

    Real sockets, no canned answer: the engine waits on it exactly as on a slow server, so client
    timeouts and the user's Stop button are exercised for real.
    """

    def __init__(self) -> None:
        self._closing = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        self._closing.wait()

    def close(self) -> None:
        self._closing.set()
        super().close()


class CuttingProxy(Listener):
    """TCP proxy to the LLM server that SIGKILLs it after ``after`` streamed SSE events and drops the line.

    Killing the process from outside is not enough on its own: a fast model may have written its whole
    reply into the socket already. Cutting the proxied connection at the same moment makes the failure
    land in the middle of the stream every time.
    """

    def __init__(self, upstream_port: int, victim: subprocess.Popen, after: int) -> None:
        self.upstream, self.victim, self.after = upstream_port, victim, after
        self.killed = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection((LOOPBACK, self.upstream))
        except OSError:
            return
        back = threading.Thread(target=self._pump, args=(upstream, conn, True), daemon=True)
        back.start()
        self._pump(conn, upstream, False)
        back.join()

    def _pump(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        events = 0
        try:
            while data := src.recv(65536):
                if watch and not self.killed.is_set():
                    events += data.count(b"data: ")
                    if events >= self.after:
                        self.victim.send_signal(signal.SIGKILL)
                        self.killed.set()
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


# --- real servers run as child processes ------------------------------------------------------------------
class ServerProcess:
    """A server in a child process on a fixed port, so a test can stop it and start it again in place.

    Started in its own process group so that ``stop()`` ends it with everything it spawned; its output
    goes to a temporary file whose tail explains a failed start.
    """

    def __init__(self, command: list[str], port: int, ready_path: str, env: dict[str, str] | None = None,
                 timeout: float = 120) -> None:  # generous: CI machines may be busy
        self.command, self.port, self.ready_path, self.env, self.timeout = command, port, ready_path, env, timeout
        self.proc: subprocess.Popen | None = None
        self._output = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def alive(self) -> bool:
        """Listening is not enough: the server is up once ``ready_path`` answers."""
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def start(self) -> None:
        if self._output:
            self._output.close()
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - open while the server runs, closed on restart
        self.proc = subprocess.Popen(self.command, stdout=self._output, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command[:3]} exited with {self.proc.returncode}: {self._tail()}")
            if self.alive():
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.command[:3]} did not answer on port {self.port} within {self.timeout} s: "
                           f"{self._tail()}")

    def stop(self) -> None:
        if self.proc:
            stop_group(self.proc)
        self.proc = None
        deadline = time.monotonic() + 30  # the port must be free before a restart binds it again
        while time.monotonic() < deadline and self.alive():
            time.sleep(0.2)

    def _tail(self) -> str:
        self._output.seek(0)
        return self._output.read()[-2000:].decode(errors="replace")


class ChromaServer(ServerProcess):
    """``chroma run --path DIR``, the same server a user runs."""

    def __init__(self, path: Path, port: int) -> None:
        super().__init__([*chroma_command(), "run", "--path", str(path), "--host", LOOPBACK, "--port", str(port)],
                         port, "/api/v2/heartbeat")


class LlamaServer(ServerProcess):
    """llama-cpp-python's OpenAI-compatible server, started through ``python -m rag.llm.server``.

    That module only disables llama.cpp's AMX/repack buffers first: on this project's Firecracker VMs the
    AMX path segfaults on the first request.
    """

    def __init__(self, model: Path, port: int, n_ctx: int = 2048) -> None:
        super().__init__([sys.executable, "-m", "rag.llm.server", "--model", str(model), "--host", LOOPBACK,
                          "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2", "--verbose", "False"],
                         port, "/v1/models", env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
