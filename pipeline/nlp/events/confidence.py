"""Event confidence: a small logistic model over the evidence of one coded event.

The coder describes each event by a handful of features in ``[0, 1]`` (or a
little above, for distance), all read off the parse and the lexicon:

``specific``
    the verb matched a pattern that names more than the verb (a particle,
    preposition or object noun: "fire ... at", "sign ... agreement");
``noun``
    the event was read from an event noun ("X's visit to Y"), not a verb;
``generic_code``
    the code is a root's "not specified" code (``040``, ``190``): the lexicon
    could not say more;
``named``
    how well the actors were matched: 1 for a name or dictionary entry, 0.5 for
    a demonym, metonym or title, 0 for a bare agent noun, a coreference or an
    actor the coder inferred (mean over source and target);
``direct``
    how the actors were attached: 1 for a subject, direct object, passive
    agent or the pattern's own preposition, 0.5 for another prepositional
    phrase, 0 for anything found further away (an inherited or pronoun
    subject, a nested phrase, a clause subject, a place) (mean over both);
``distance``
    the longest token distance between the trigger and an actor, over 10;
``modal``
    the event is reported, intended, future or hypothetical, not asserted;
``solo``
    the event has no target (a protest, a force posture).

The score is ``sigmoid(intercept + sum(weight * feature))`` with the
coefficients in ``pipeline/data/cameo/confidence.toml``. They are fitted on
gold-coded sentences (``dipwire eval ... --evidence E.jsonl``, then ``dipwire
eval --fit-confidence OUT --from E.jsonl``): a logistic regression of "the
predicted (source, target, code) is in the gold", its weights pulled towards
:data:`PRIOR` by an L2 penalty so that a small gold set cannot overturn them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.nlp.data import read_toml

FEATURES = ("specific", "noun", "generic_code", "named", "direct", "distance", "modal", "solo")
"""The features the model reads, in the order of the data file."""

DATA_FILE = "confidence.toml"


def sigmoid(value: float) -> float:
    """The logistic function, safe for large magnitudes."""
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


@dataclass(frozen=True)
class ConfidenceModel:
    """Intercept and one weight per feature; a missing weight is zero."""

    intercept: float = 0.0
    weights: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> ConfidenceModel:
        """Read the coefficients (the packaged file unless ``path`` is given).

        Raises:
            ValueError: The file names a feature the coder does not produce.
        """
        data = read_toml("cameo", DATA_FILE, path=path)
        weights = {str(k): float(v) for k, v in data.get("weights", {}).items()}
        unknown = sorted(set(weights) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown confidence features: {', '.join(unknown)}")
        return cls(intercept=float(data.get("intercept", 0.0)), weights=weights)

    def score(self, evidence: Mapping[str, float]) -> float:
        """The probability that an event with this evidence is coded right, in ``[0, 1]``."""
        total = self.intercept + sum(
            weight * evidence.get(name, 0.0) for name, weight in self.weights.items()
        )
        return sigmoid(total)

    def to_toml(self, note: str = "") -> str:
        """The model as a data file (the format :meth:`load` reads)."""
        lines = [f"# {line}".rstrip() for line in note.splitlines()] if note else []
        lines += ["version = 1", f"intercept = {self.intercept:.4f}", "", "[weights]"]
        lines += [f"{name} = {self.weights.get(name, 0.0):.4f}" for name in FEATURES]
        return "\n".join(lines) + "\n"


PRIOR: Mapping[str, float] = {
    "specific": 0.5,
    "noun": -0.5,
    "generic_code": 0.0,
    "named": 1.0,
    "direct": 0.8,
    "distance": -0.3,
    "modal": -0.5,
    "solo": -0.5,
}
"""What each feature is expected to do before any gold is seen (log-odds per unit).

The fit shrinks the weights towards these rather than towards zero: a gold set
of a hundred events can move them, not overturn the reasons they were chosen.
"""


def fit(
    samples: Sequence[tuple[Mapping[str, float], bool]],
    l2: float = 1.0,
    prior: Mapping[str, float] = PRIOR,
    iterations: int = 50,
) -> ConfidenceModel:
    """Fit an L2-penalised logistic regression by Newton's method (the intercept unpenalised).

    Args:
        samples: ``(evidence, correct)`` for each predicted event.
        l2: Penalty on the squared distance of the weights from ``prior``; a
            small gold set needs a strong one.
        prior: The weights the penalty pulls towards (zero for a missing one).
        iterations: Newton steps (it converges in a few).

    Returns:
        The fitted model; an empty sample gives the prior with a zero intercept.
    """
    if not samples:
        return ConfidenceModel(weights={n: prior.get(n, 0.0) for n in FEATURES})
    names = list(FEATURES)
    centre = [0.0] + [prior.get(n, 0.0) for n in names]
    rows = [[1.0] + [evidence.get(n, 0.0) for n in names] for evidence, _ in samples]
    labels = [1.0 if correct else 0.0 for _, correct in samples]
    size = len(names) + 1
    beta = centre[:]
    for _ in range(iterations):
        gradient = [0.0] * size
        hessian = [[0.0] * size for _ in range(size)]
        for row, label in zip(rows, labels, strict=True):
            p = sigmoid(sum(b * x for b, x in zip(beta, row, strict=True)))
            w = p * (1.0 - p)
            for i in range(size):
                gradient[i] += (label - p) * row[i]
                for j in range(size):
                    hessian[i][j] += w * row[i] * row[j]
        for i in range(1, size):
            gradient[i] -= l2 * (beta[i] - centre[i])
            hessian[i][i] += l2
        step = _solve(hessian, gradient)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return ConfidenceModel(intercept=beta[0], weights=dict(zip(names, beta[1:], strict=True)))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve ``matrix @ x = vector`` by Gaussian elimination with partial pivoting."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < 1e-12:
            continue
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(a[r][r]) < 1e-12:
            continue
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


__all__ = ["FEATURES", "PRIOR", "ConfidenceModel", "fit", "sigmoid"]
