from __future__ import annotations

import re
from pathlib import Path

from rag.config import REFUSAL, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = set(alias.choices) if alias is not None else {f"RAG_{name.upper()}"}
        assert names & documented, f"{name} is missing from .env.example"


def test_env_and_dotenv_are_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("RAG_TOP_K=7\nRAG_RETRIEVER=bm25\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_TOP_K", "9")
    s = Settings()
    assert (s.top_k, s.retriever) == (9, "bm25"), "env vars win over .env"
    assert s.index_dir.is_absolute()


def test_refusal_sentence_is_defined_once():
    hits = [p for p in (ROOT / "rag").rglob("*.py") if REFUSAL in p.read_text()]
    assert [p.name for p in hits] == ["config.py"]
