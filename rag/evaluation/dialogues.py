"""``rag eval --dialogues``: multi-turn conversations through a chat session (or the HTTP API).

A dialogue file is JSONL, one conversation a line::

    {"id": "de-001", "kind": "pronoun", "turns": [{"question": ..., "expected_titles": [...],
                                                   "answer_keywords": [...]}, ...]}

Kinds: ``pronoun`` (the follow-up refers to the paper just cited), ``ellipsis`` ("And for X?"),
``switch`` (a self-contained new question) and ``three_turn``. What a user relies on, per kind:

* **follow-up citation accuracy**: turn 2 (and turn 3) cites at least one expected paper;
* **repeated answers**: follow-ups that quote a sentence of the previous answer again (0 is the target);
* keyword recall (does the answer contain one of the turn's answer keywords), as a weaker signal of
  whether the answer answers the new ask.

Dialogues are split like the question bank (:func:`rag.evaluation.split.split_of` on the first turn's
expected titles), so rules are tuned on ``train`` and ``test`` is reported first.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.evaluation.split import split_of
from rag.text import normalize_title, split_sentences, strip_markers

KINDS = ("pronoun", "ellipsis", "switch", "three_turn")


@dataclass
class DialogueTurn:
    question: str
    expected_titles: list[str]
    answer_keywords: list[str] = field(default_factory=list)


@dataclass
class Dialogue:
    id: str
    kind: str
    turns: list[DialogueTurn]
    line: int = 0

    @property
    def split(self) -> str:
        return split_of(self.turns[0].expected_titles, self.id)


@dataclass
class TurnResult:
    id: str
    kind: str
    split: str
    turn: int  # 1-based
    question: str
    standalone: str
    expected_titles: list[str]
    cited: list[str]
    correct: bool  # cites an expected paper
    repeated: bool  # quotes a sentence of the previous answer again
    refused: bool
    keyword: bool  # the answer contains one of the answer keywords
    answer: str


def load_dialogues(path: Path) -> list[Dialogue]:
    """Parse and validate a dialogue file; a bad line is one clear error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise RagError(f"dialogue file not found: {path}")
    out, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = [DialogueTurn(str(t["question"]), list(t.get("expected_titles") or []),
                                  list(t.get("answer_keywords") or [])) for t in row["turns"]]
            dialogue = Dialogue(str(row["id"]), str(row["kind"]), turns, number)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RagError(f"{path}:{number}: not a dialogue ({type(exc).__name__}: {exc})") from None
        if dialogue.id in seen:
            raise RagError(f"{path}:{number}: duplicate dialogue id {dialogue.id!r}")
        if len(turns) < 2:
            raise RagError(f"{path}:{number}: a dialogue needs at least two turns")
        seen.add(dialogue.id)
        out.append(dialogue)
    return out


def _sentences(text: str) -> list[str]:
    return split_sentences(strip_markers(text))


def repeats_previous(answer: str, previous: str) -> bool:
    """Does ``answer`` say again what ``previous`` said (the same text, or any of its sentences)?"""
    from rag.chat import repeats

    if not answer.strip() or not previous.strip():
        return False
    if re.sub(r"\W+", " ", answer).strip().casefold() == re.sub(r"\W+", " ", previous).strip().casefold():
        return True
    return any(repeats(s, [previous]) for s in _sentences(answer))


def _keyword(answer: str, keywords: list[str]) -> bool:
    low = answer.casefold()
    return any(k.casefold() in low for k in keywords)


def _result(dialogue: Dialogue, index: int, standalone: str, cited: list[str], refused: bool, answer: str,
            previous: str) -> TurnResult:
    turn = dialogue.turns[index]
    correct = bool({normalize_title(t) for t in cited} & {normalize_title(t) for t in turn.expected_titles})
    repeated = index > 0 and not refused and repeats_previous(answer, previous)
    return TurnResult(dialogue.id, dialogue.kind, dialogue.split, index + 1, turn.question, standalone,
                      turn.expected_titles, cited, correct, repeated, refused,
                      _keyword(answer, turn.answer_keywords), answer)


def run_session(engine, dialogue: Dialogue, llm: str | None = None, k: int | None = None) -> list[TurnResult]:
    """One dialogue through a fresh :class:`rag.engine.ChatSession` (what the CLI and the UI use)."""
    session = engine.chat(llm=llm, k=k)
    results, previous = [], ""
    for index, turn in enumerate(dialogue.turns):
        answer = session.ask(turn.question)
        results.append(_result(dialogue, index, answer.standalone_question, [c.title for c in answer.citations],
                                answer.refused, answer.text, previous))
        previous = answer.text
    return results


def run_api(post, dialogue: Dialogue, model: str = "paperchat", k: int | None = None) -> list[TurnResult]:
    """One dialogue through ``POST /v1/chat/completions`` as an OpenAI client sends it: the whole
    conversation each time, earlier answers as the assistant's messages. ``post(path, json) -> dict``."""
    messages: list[dict] = []
    results, previous = [], ""
    for index, turn in enumerate(dialogue.turns):
        messages.append({"role": "user", "content": turn.question})
        body = {"model": model, "messages": messages, **({"k": k} if k else {})}
        data = post("/v1/chat/completions", body)
        content = data["choices"][0]["message"]["content"]
        text = content.split("\n\nSources:\n", 1)[0]
        results.append(_result(dialogue, index, data.get("standalone_question", ""),
                               [c["title"] for c in data.get("citations", [])],
                               bool(data.get("refused")), text, previous))
        messages.append({"role": "assistant", "content": content})
        previous = text
    return results


def summarize(results: list[TurnResult]) -> dict:
    """Per kind: follow-up accuracy by turn, repeats, refusals and keyword recall; plus totals."""
    out: dict = {"kinds": {}, "dialogues": len({r.id for r in results})}
    for kind in [k for k in KINDS if any(r.kind == k for r in results)] + sorted(
            {r.kind for r in results} - set(KINDS)):
        rows = [r for r in results if r.kind == kind]
        entry: dict = {"dialogues": len({r.id for r in rows})}
        for turn in sorted({r.turn for r in rows}):
            at = [r for r in rows if r.turn == turn]
            entry[f"turn{turn}"] = {"n": len(at), "correct": sum(r.correct for r in at),
                                    "accuracy": round(sum(r.correct for r in at) / len(at), 3)}
        follow = [r for r in rows if r.turn > 1]
        entry["follow_up_accuracy"] = round(sum(r.correct for r in follow) / len(follow), 3) if follow else None
        entry["repeated"] = sum(r.repeated for r in follow)
        entry["refused"] = sum(r.refused for r in follow)
        entry["keyword_recall"] = round(sum(r.keyword for r in follow) / len(follow), 3) if follow else None
        out["kinds"][kind] = entry
    follow = [r for r in results if r.turn > 1]
    out["follow_ups"] = len(follow)
    out["follow_up_correct"] = sum(r.correct for r in follow)
    out["follow_up_accuracy"] = round(out["follow_up_correct"] / len(follow), 3) if follow else None
    out["repeated"] = sum(r.repeated for r in follow)
    out["first_turn_accuracy"] = round(sum(r.correct for r in results if r.turn == 1)
                                       / max(1, sum(r.turn == 1 for r in results)), 3)
    return out


def table(name: str, summary: dict) -> str:
    """A markdown table of a summary, one row per kind."""
    lines = [f"### {name}: {summary['dialogues']} dialogues, follow-ups citing an expected paper "
             f"{summary['follow_up_correct']}/{summary['follow_ups']} ({summary['follow_up_accuracy']}), "
             f"repeated answers {summary['repeated']}, first turns {summary['first_turn_accuracy']}", "",
             "| kind | dialogues | turn 2 | turn 3 | follow-ups | repeated | refused | keyword recall |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, e in summary["kinds"].items():
        t2 = e.get("turn2", {})
        t3 = e.get("turn3", {})
        cell = (lambda t: f"{t['correct']}/{t['n']} ({t['accuracy']:.2f})" if t else "–")  # noqa: E731
        lines.append(f"| {kind} | {e['dialogues']} | {cell(t2)} | {cell(t3)} | {e['follow_up_accuracy']:.2f} | "
                     f"{e['repeated']} | {e['refused']} | {e['keyword_recall']:.2f} |")
    return "\n".join(lines)


def _api_poster(engine):
    from fastapi.testclient import TestClient

    from rag.api import create_app

    client = TestClient(create_app(engine, warm=False))

    def post(path: str, body: dict) -> dict:
        response = client.post(path, json=body)
        if response.status_code != 200:
            raise RagError(f"{path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    return post


def main(engine, path: Path, split: str | None = None, llm: str | None = None, k: int | None = None,
         through_api: bool = False, out: Path = Path("out/eval-dialogues"), as_json: bool = False) -> dict:
    """Run the dialogues (test split first, then train, unless ``split`` picks one) and write the report."""
    from rag.evaluation.dataset import indexed_titles

    dialogues = load_dialogues(path)
    known = indexed_titles(engine)
    missing = sorted(t for t in {t for d in dialogues for turn in d.turns for t in turn.expected_titles}
                     if normalize_title(t) not in known)
    if missing:
        raise RagError(f"{len(missing)} expected title(s) of {path} are not in the index, e.g. {missing[0]!r}")
    splits = [split] if split else ["test", "train"]
    post = _api_poster(engine) if through_api else None
    model = f"paperchat-{llm}" if llm and llm != "auto" else "paperchat"
    report: dict = {"dataset": str(path), "through": "api" if through_api else "session",
                    "mode": engine.resolve_mode(llm), "splits": {}}
    all_results: list[TurnResult] = []
    for name in splits:
        chosen = [d for d in dialogues if d.split == name]
        results = []
        for d in chosen:
            results += run_api(post, d, model, k) if post else run_session(engine, d, llm, k)
        all_results += results
        report["splits"][name] = summarize(results)
        if not as_json:
            print(table(f"{name} split ({report['through']}, {report['mode']})", report["splits"][name]) + "\n",
                  file=sys.stdout, flush=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in all_results:
            f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    (out / "report.md").write_text("\n\n".join(table(f"{n} split", s) for n, s in report["splits"].items()) + "\n",
                                   encoding="utf-8")
    if as_json:
        print(json.dumps(report))
    else:
        print(f"-> {out / 'report.md'}, per-turn results in {out / 'results.jsonl'}")
    return report
