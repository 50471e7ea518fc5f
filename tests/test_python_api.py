"""The public Python API, used only through ``from rag import ...`` (what the README documents).

The README's Python example is executed verbatim: the code block after ``<!-- example: python-api -->``
in README.md, or this module's copy of it until the README section is merged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rag
from rag import (
    Answer,
    BadQuestion,
    ChatSession,
    CorpusError,
    EmptyIndex,
    Engine,
    Filters,
    Hit,
    IngestReport,
    Settings,
)

ROOT = Path(__file__).resolve().parent.parent
TOWER = "Tower+: Bridging Generality and Translation Specialization in Multilingual LLMs"
MARKER = "<!-- example: python-api -->"

#: Keep identical to the block in the README's "Python API" section (test_readme_matches_this_copy).
EXAMPLE = '''\
from rag import Engine, Filters

engine = Engine.from_env()  # RAG_* environment variables and .env; nothing loads until first use
report = engine.ingest()    # data/corpus/ by default; incremental, so a re-run embeds nothing
print(report.papers, "papers")

for hit in engine.search("multilingual machine translation", k=3, filters=Filters.years(2023, 2025)):
    print(f"{hit.score:.3f} {hit.date} {hit.title}")

answer = engine.ask("How does Tower+ balance translation quality with general chat ability?")
print(answer.render())      # the text with [n] markers, then "Sources:" and the cited titles
cited = [c.title for c in answer.citations]

for item in engine.stream("What is CodeT5?"):  # text deltas, then the final Answer
    if isinstance(item, str):
        print(item, end="", flush=True)
print()

chat = engine.chat()        # a conversation: follow-ups are condensed with its history
chat.ask("How does Tower+ balance translation quality with general chat ability?")
follow_up = chat.ask("Which languages does it cover?")
print(follow_up.standalone_question, [h.title for h in follow_up.sources])
'''


def readme_example() -> str:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if MARKER not in text:
        return EXAMPLE
    block = re.search(r"```python\n(.*?)```", text.split(MARKER, 1)[1], re.S)
    assert block, "the README marker must be followed by a ```python block"
    return block.group(1)


def test_readme_example_runs_and_answers(corpus_index, monkeypatch, capsys):
    monkeypatch.setenv("RAG_INDEX_DIR", str(corpus_index))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(ROOT / "data" / "corpus"))
    monkeypatch.setenv("RAG_LLM", "extractive")
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(readme_example(), "README.md (python-api example)", "exec"), scope)
    out = capsys.readouterr().out
    assert isinstance(scope["report"], IngestReport)
    assert scope["report"].papers == 410 and scope["report"].added == 0
    assert TOWER in scope["cited"]
    assert "Sources:" in out and TOWER in out
    assert TOWER in [h.title for h in scope["follow_up"].sources], "the follow-up kept the conversation's subject"


def test_readme_matches_this_copy():
    readme = ROOT / "README.md"
    if readme.exists() and MARKER in readme.read_text(encoding="utf-8"):
        assert readme_example() == EXAMPLE


def test_public_names_are_exported():
    for name in ("Engine", "Settings", "Filters", "Answer", "Citation", "Hit", "IngestReport", "ChatSession",
                 "RagError", "BadQuestion", "EmptyIndex", "IndexUnavailable", "CorpusError",
                 "REFUSAL"):
        assert name in rag.__all__ and hasattr(rag, name)


def test_from_settings_applies_overrides(corpus_index):
    base = Settings(_env_file=None, index_dir=corpus_index, llm="extractive")
    engine = Engine.from_settings(base, top_k=2)
    assert engine.settings.top_k == 2 and base.top_k == 5, "overrides copy the settings, never mutate them"


def test_search_returns_hits_honouring_filters(engine):
    hits = engine.search("pretraining data", k=4, filters=Filters.years(2025, 2025))
    assert len(hits) == 4 and all(isinstance(h, Hit) for h in hits)
    assert all(h.date.startswith("2025") for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_ask_returns_a_plain_answer_dataclass(engine):
    answer = engine.ask("How does Tower+ balance translation quality with general chat ability?", k=3)
    assert isinstance(answer, Answer) and len(answer.sources) == 3
    assert answer.mode == "extractive" and not answer.refused
    assert {"retrieve", "generate", "total"} <= set(answer.timings_ms)
    data = answer.to_dict()
    assert data["citations"][0]["title"] in {h.title for h in answer.sources}
    assert set(data) == {"question", "answer", "citations", "sources", "refused", "mode", "model", "notice",
                         "language", "timings_ms", "standalone_question"}
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))


def test_stream_text_equals_the_final_answer(engine):
    items = list(engine.stream("What is CodeT5?"))
    assert isinstance(items[-1], Answer)
    assert "".join(i for i in items[:-1]) == items[-1].text


def test_chat_sessions_are_independent_and_reset(engine):
    one, two = engine.chat(), engine.chat()
    assert isinstance(one, ChatSession)
    one.ask("How does Tower+ balance translation quality with general chat ability?")
    assert len(one.history) == 1 and two.history == []
    assert two.ask("Which languages does it cover?").standalone_question == "Which languages does it cover?"
    one.reset()
    assert one.history == []


def test_stats_describe_the_index(engine):
    stats = engine.stats()
    assert stats["papers"] == 410 and stats["chunks"] >= 410 and len(stats["sources"]) == 5


def test_errors_are_typed_one_liners(engine, tmp_path):
    with pytest.raises(BadQuestion, match="empty"):
        engine.ask("  ")
    empty = Engine.from_settings(Settings(_env_file=None, index_dir=tmp_path / "empty"))
    with pytest.raises(EmptyIndex, match="rag ingest"):
        empty.search("anything")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "A", "abstract": "B"}\n{broken\n', encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        empty.ingest([bad])
    assert str(info.value) == "bad.jsonl:2: malformed JSON (Expecting property name enclosed in double quotes)"
    assert empty.is_empty(), "a corpus error writes nothing"
