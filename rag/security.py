"""Security helpers shared by every surface (HTTP API, web UI, CLI): secret redaction, exposure warnings,
the failed-login throttle, safe links, and the checks that keep HTTP ingest inside ``RAG_INGEST_ROOT``.

Why one module: each of these was once done in one place and forgotten in another (the API scrubbed
the key from error bodies but not from a non-streaming ``notice``; the UI warned about a public bind
without a login, the mounted API did not). Every surface now calls the same function.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from rag.config import Settings
from rag.errors import CorpusError

MASK = "***"

#: Credentials that look like credentials even when they are not this process's own: an upstream error
#: that echoes an ``Authorization`` header, an OpenAI-style key, ``api_key=...`` in a URL or JSON body.
_PATTERNS = [
    re.compile(r"(?i)(authorization\b[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?"
               r"(?!(?:bearer|basic|token)\b)(?![<*])[^\s\"',;}]+"),
    re.compile(r"(?i)\b(bearer\s+)(?![<*])[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"\b()(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|access[_-]?token|x-api-key|x-chroma-token|password|secret)[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',;&}]+"),
]


def secrets_of(settings: Settings) -> list[str]:
    """The secret values this process is configured with (long enough to be worth replacing)."""
    values = [settings.api_token, settings.openai_api_key, settings.judge_api_key, settings.embed_api_key]
    values += list(settings.chroma_headers.values())
    if settings.ui_auth and ":" in settings.ui_auth:
        values.append(settings.ui_auth.partition(":")[2])
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(text: object, settings: Settings | None = None, extra: Iterable[str] = ()) -> str:
    """``text`` safe to show a user or write to a log: every configured secret and anything shaped like a
    credential (Authorization headers, ``sk-`` keys, ``api_key=`` values) replaced by ``***``.

    Also replaces lone UTF-16 surrogates, which cannot be encoded as UTF-8 and would turn an error
    message into a 500 (JSON responses and terminals encode to UTF-8).
    """
    out = str(text)
    for secret in [*(secrets_of(settings) if settings else []), *extra]:
        if secret:
            out = out.replace(secret, MASK)
    for pattern in _PATTERNS:
        out = pattern.sub(lambda m: m.group(1) + MASK, out)
    return out.encode("utf-8", "replace").decode("utf-8")


def one_line(text: object, settings: Settings | None = None) -> str:
    """The redacted message collapsed onto one line (the shape every user-facing error has)."""
    return redact(" ".join(str(text).split()), settings)


# --- binding ------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Settings, host: str, ui: bool) -> str | None:
    """One line naming what a non-loopback bind leaves open to anyone who can reach the port, or None.

    ``ui``: the web UI is served too (``rag serve``). With a UI login the mounted API requires the login
    session or the token, so it is open only when neither RAG_UI_AUTH nor RAG_API_TOKEN is set.
    """
    if is_loopback(host):
        return None
    open_parts = []
    if ui and not settings.ui_auth:
        open_parts.append("the chat UI (set RAG_UI_AUTH=user:password)")
    if not settings.api_token and not (ui and settings.ui_auth):
        open_parts.append("the HTTP API /v1 (set RAG_API_TOKEN)")
    if not open_parts:
        return None
    return (f"warning: listening on {host} without a login for {' and '.join(open_parts)}: anyone who can reach "
            "this port can use it.")


# --- links --------------------------------------------------------------------------------------------
def safe_href(url: str) -> str | None:
    """``url`` if it is an absolute http(s) link, else None: corpus URLs become card links only then."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(c in url for c in "\"'<> \t\n"):
        return url
    return None


# --- failed-login throttle ------------------------------------------------------------------------------
class LoginThrottle:
    """Per-client lockout after repeated failed logins: ``free`` failures, then 1 s, 2 s, 4 s ... up to ``cap``.

    Why a lockout and not a sleep: a sleeping handler ties up a server thread per attempt, and an
    attacker can open many; a refused attempt costs nothing. The lockout also covers the right password,
    otherwise guessing just continues until it hits.
    """

    def __init__(self, free: int = 5, cap: float = 300.0, clock=time.monotonic) -> None:
        self.free, self.cap, self.clock = free, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (failures, locked until)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait (0: it may try now)."""
        with self._lock:
            _, until = self._failures.get(client, (0, 0.0))
            return max(0.0, until - self.clock())

    def failed(self, client: str) -> float:
        """Record a failure; returns the lockout it starts (0 while within the free attempts)."""
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a spray of client addresses
                now = self.clock()
                self._failures = {c: v for c, v in self._failures.items() if v[1] > now}
            count = self._failures.get(client, (0, 0.0))[0] + 1
            delay = 0.0 if count < self.free else min(self.cap, math.pow(2, count - self.free))
            self._failures[client] = (count, self.clock() + delay)
            return delay

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


# --- ingest paths ------------------------------------------------------------------------------------------
def ingest_root(settings: Settings) -> Path:
    return (settings.ingest_root or settings.corpus_dir).resolve()


def hidden_path_error(requested: str) -> CorpusError:
    """The one message for a path that is missing, outside the root, or not a regular file.

    The same words for every case, so an API client cannot learn what exists outside the root.
    """
    return CorpusError(f"{requested}: not found under the ingest root, or not allowed "
                       "(only regular files inside RAG_INGEST_ROOT can be ingested over HTTP)")


def confine(requested: str, root: Path) -> Path:
    """The real path of ``requested`` (relative paths are taken from ``root``) if it stays inside ``root``.

    Symlinks are resolved first, so a link pointing out of the root is refused like any outside path.
    """
    raw = Path(requested).expanduser() if requested.startswith("~") else Path(requested)
    try:
        real = (raw if raw.is_absolute() else root / raw).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, symlink loop, NUL byte
        raise hidden_path_error(requested) from None
    if real != root and not real.is_relative_to(root):
        raise hidden_path_error(requested)
    return real


def read_limited(path: Path, max_bytes: int, timeout: float, label: str | None = None, hidden: bool = True) -> bytes:
    """A regular file's bytes, refusing FIFOs, devices and sockets, files above ``max_bytes``, and reads
    slower than ``timeout`` seconds.

    The file is opened with O_NONBLOCK and checked with fstat on the open descriptor: opening a FIFO
    for reading would otherwise block until a writer appears (and hold the ingest lock meanwhile), and
    checking the path before opening it would leave a window for swapping the file. ``hidden``: failures
    to open, and non-regular files, get the "not found or not allowed" line (HTTP ingest); else the reason.
    """
    label = label or str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise (hidden_path_error(label) if hidden else CorpusError(f"{label}: cannot be read ({exc.strerror})")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise hidden_path_error(label) if hidden else CorpusError(
                f"{label}: not a regular file (FIFOs, devices and sockets are not read)")
        if info.st_size > max_bytes:
            raise CorpusError(f"{label}: file is larger than the ingest limit of {max_bytes:,} bytes "
                              "(RAG_INGEST_MAX_FILE_BYTES)")
        deadline = time.monotonic() + timeout
        chunks, size = [], 0
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                break
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:  # the file grew while we read it
                    raise CorpusError(f"{label}: file is larger than the ingest limit of {max_bytes:,} bytes "
                                      "(RAG_INGEST_MAX_FILE_BYTES)")
            else:
                time.sleep(0.01)
            if time.monotonic() > deadline:
                raise CorpusError(f"{label}: reading took longer than {timeout:g} s (RAG_INGEST_READ_TIMEOUT)")
        return b"".join(chunks)
    finally:
        os.close(fd)
