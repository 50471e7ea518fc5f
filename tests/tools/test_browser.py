"""The UI served in a thread for the browser tools and tests: a real port chosen by the system, and the
same app as ``rag serve`` (chat at ``/``, API beside it)."""

from __future__ import annotations

import urllib.request

from tools.browser import running_app


def test_running_app_serves_the_chat_and_the_api_on_a_free_port(engine):
    with running_app(engine) as url:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        with urllib.request.urlopen(url + "healthz", timeout=30) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(url, timeout=30) as reply:
            assert b"paperchat" in reply.read()
