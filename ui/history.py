"""The conversation kept in the browser: its shape, its encryption key, and what is made from it (a chat
session that continues it, the Markdown and BibTeX exports).

The stored turns come back from the user's localStorage, so they are checked (:func:`valid_turns`) before
any use; a tampered or outdated entry is dropped rather than trusted.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from rag.answer import export
from rag.engine import ChatSession, Engine

#: localStorage key of the conversation (gr.BrowserState): history survives a reload of the page.
HISTORY_KEY = "paperchat-history"
#: Turns kept in the browser; older ones are dropped so localStorage (about 5 MB) never fills up.
MAX_TURNS = 40


def history_secret(engine: Engine) -> str | None:
    """The key that encrypts the stored history (gr.BrowserState), kept in the index folder so history
    survives a server restart as well as a reload; ``None`` (a per-process key) if it cannot be kept."""
    path = Path(engine.settings.index_dir) / "ui-history.key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def session_for(engine: Engine, turns: list[dict]) -> ChatSession:
    """A chat session that continues ``turns`` (restored from the browser), so follow-ups keep their subject."""
    session = engine.chat()
    session.history = [(str(t.get("standalone") or t.get("question", "")), str(t.get("answer", "")))
                       for t in turns][-session.max_turns:]
    return session


def export_files(turns: list[dict]) -> tuple[str | None, str | None]:
    """The conversation as Markdown with references and the cited papers as BibTeX, written to temp files."""
    if not turns:
        return None, None
    folder = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
    markdown = folder / "paperchat-conversation.md"
    markdown.write_text(export.conversation_markdown(turns), encoding="utf-8")
    cited = [c for t in turns for c in t.get("citations") or []]
    bib = folder / "paperchat-references.bib"
    bib.write_text(export.bibtex(cited) or "% The conversation cites no paper yet.\n", encoding="utf-8")
    return str(markdown), str(bib)


def valid_turns(value: object) -> list[dict]:
    """The stored history if it has the expected shape, else nothing (storage is the user's to edit)."""
    if not isinstance(value, list):
        return []
    return [t for t in value if isinstance(t, dict) and isinstance(t.get("question"), str)
            and isinstance(t.get("answer"), str)][-MAX_TURNS:]
