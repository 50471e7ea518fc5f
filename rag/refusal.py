"""The refusal gate: decide from retrieval evidence alone whether the abstracts can answer at all.

It runs before any LLM call, so a question the corpus does not cover costs no generation and cannot
be answered by invention. The decision is a small logistic model over the answerability signals of
:mod:`rag.signals` (similarity, exact term coverage, terms absent from the corpus, the answer type),
fitted on the train split of the evaluation bank by ``python tools/fit_gate.py`` and stored in
``rag/data/gate_model.json`` with the figures it was fitted and checked on. Why a fitted model and
not rules: the previous gate's hand-set thresholds reached 0.96 refusal accuracy on the questions
they were tuned on and 0.60 on questions nobody had seen; a model with a handful of coefficients,
fitted on one split and reported on another, cannot hide that gap.

A refusal explains itself: it names the question's terms that no indexed abstract contains, or the
specific terms the closest abstract lacks, and the closest papers stay in ``Answer.sources``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rag.signals import FEATURES, Signals, measure
from rag.terms import CHAT_WORDS
from rag.text import fold
from rag.types import Hit

#: The fitted model shipped with the package (written by tools/fit_gate.py).
DEFAULT_MODEL = Path(__file__).resolve().parent / "data" / "gate_model.json"


@dataclass
class GateModel:
    """Standardised logistic regression: p(answerable) = sigmoid(coef . (x - mean) / scale + intercept)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float  # refuse when p(answerable) is below it
    info: dict = field(default_factory=dict)  # how and on what it was fitted, with its figures

    @classmethod
    def load(cls, path: Path) -> GateModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path}: fitted on features {data['features']}, this version measures {list(FEATURES)}; "
                             "refit with `python tools/fit_gate.py`")
        return cls(data["features"], data["mean"], data["scale"], data["coef"], data["intercept"], data["threshold"],
                   data.get("info", {}))

    def save(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")

    def probability(self, vector: list[float]) -> float:
        z = self.intercept + sum(c * (x - m) / (s or 1.0)
                                 for c, x, m, s in zip(self.coef, vector, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass
class Decision:
    refuse: bool
    probability: float  # p(answerable) from the gate model
    signals: Signals
    reason: str = ""  # one sentence for the user, when refusing

    @property
    def evidence(self) -> float:
        return self.signals.values.get("sim", 0.0)


class Gate:
    """The fitted model over one engine's components: the embedder (similarity) and BM25 (IDF, spelling)."""

    def __init__(self, bm25, model_path: Path = DEFAULT_MODEL, threshold: float | None = None) -> None:
        self.bm25 = bm25
        self.model_path = Path(model_path)
        self._threshold = threshold

    @cached_property
    def model(self) -> GateModel:
        return GateModel.load(self.model_path)

    @property
    def threshold(self) -> float:
        return self.model.threshold if self._threshold is None else self._threshold

    def idf(self):
        from rag.answerable import bm25_idf

        lookup, n_docs = self.bm25.doc_freq()
        return bm25_idf(lookup, max(n_docs, 1))

    def signals(self, question: str, hits: list[Hit], scored: list) -> Signals:
        lookup, n_docs = self.bm25.doc_freq()
        return measure(question, hits, scored, lookup, n_docs, self.bm25.corrections(question))

    def decide(self, question: str, hits: list[Hit], scored: list) -> Decision:
        signals = self.signals(question, hits, scored)
        if not hits:
            return Decision(True, 0.0, signals, "Nothing in the index matches the question.")
        if self._threshold == 0:  # the gate is off
            return Decision(False, 1.0, signals)
        p = self.model.probability(signals.vector())
        refuse = p < self.threshold
        return Decision(refuse, p, signals, explain(signals) if refuse else "")


def explain(signals: Signals) -> str:
    """One sentence naming what is missing: terms absent from every abstract, else what the closest lacks."""
    absent = [t for t in signals.absent if fold(t) not in CHAT_WORDS]
    missing = [t for t in signals.missing if fold(t) not in CHAT_WORDS]
    if absent:
        return f"No indexed abstract mentions {_join(absent[:3])}."
    if missing:
        return f"The closest abstracts do not mention {_join(missing[:3])}."
    return "The closest abstracts are about other things."


def _join(terms: list[str]) -> str:
    quoted = [f"\u201c{t}\u201d" for t in terms]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
