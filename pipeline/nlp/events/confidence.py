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

import numpy as np
from numpy.typing import NDArray

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

    It maximises ``sum(log-likelihood) - l2 / 2 * |weights - prior|^2``; numpy
    does the linear algebra of each Newton step.

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
    centre = np.array([0.0] + [prior.get(n, 0.0) for n in names])
    rows = np.array([[1.0] + [evidence.get(n, 0.0) for n in names] for evidence, _ in samples])
    labels = np.array([1.0 if correct else 0.0 for _, correct in samples])
    penalty = np.full(len(centre), l2)
    penalty[0] = 0.0
    beta = centre.copy()
    for _ in range(iterations):
        p = _sigmoids(rows @ beta)
        gradient = rows.T @ (labels - p) - penalty * (beta - centre)
        hessian = (rows * (p * (1.0 - p))[:, None]).T @ rows + np.diag(penalty)
        step = _solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    weights = {name: float(value) for name, value in zip(names, beta[1:], strict=True)}
    return ConfidenceModel(intercept=float(beta[0]), weights=weights)


def _sigmoids(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """The logistic function of each value; ``tanh`` keeps large magnitudes from overflowing."""
    return 0.5 * (1.0 + np.tanh(0.5 * values))


def _solve(matrix: NDArray[np.float64], vector: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve ``matrix @ x = vector``; least squares when the matrix is singular.

    The Hessian is singular only when no sample says anything about the
    intercept (every probability at 0 or 1); then the step is the smallest one.
    """
    try:
        solution = np.linalg.solve(matrix, vector)
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(matrix, vector, rcond=None)[0]
    return np.asarray(solution, dtype=np.float64)


__all__ = ["FEATURES", "PRIOR", "ConfidenceModel", "fit", "sigmoid"]
