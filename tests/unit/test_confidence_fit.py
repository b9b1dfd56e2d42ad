"""The confidence fit: an L2-towards-prior logistic regression, checked by its optimality."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.nlp.events.confidence import FEATURES, PRIOR, fit, sigmoid

pytestmark = pytest.mark.unit


def _samples(count: int, seed: int) -> list[tuple[dict[str, float], bool]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        evidence = {name: rng.random() for name in FEATURES if rng.random() < 0.7}
        # "named" and "direct" evidence make an event more likely right, as in the gold.
        odds = -0.5 + 2.0 * evidence.get("named", 0.0) + evidence.get("direct", 0.0)
        out.append((evidence, rng.random() < sigmoid(odds)))
    return out


@pytest.mark.parametrize("l2", [0.1, 1.0, 25.0])
def test_the_fit_is_where_the_penalised_likelihood_is_flat(l2: float) -> None:
    samples = _samples(300, seed=3)
    model = fit(samples, l2=l2)
    rows = np.array([[1.0] + [e.get(n, 0.0) for n in FEATURES] for e, _ in samples])
    labels = np.array([1.0 if right else 0.0 for _, right in samples])
    beta = np.array([model.intercept] + [model.weights[n] for n in FEATURES])
    prior = np.array([0.0] + [PRIOR[n] for n in FEATURES])
    p = 1.0 / (1.0 + np.exp(-(rows @ beta)))
    gradient = rows.T @ (labels - p)
    # The intercept is not penalised; every weight is pulled towards its prior.
    gradient[1:] -= l2 * (beta[1:] - prior[1:])
    assert np.max(np.abs(gradient)) < 1e-6


def test_a_strong_penalty_keeps_the_prior_but_still_fits_the_intercept() -> None:
    always_right = [({"named": 1.0, "direct": 1.0}, True)] * 40 + [({}, True)] * 40
    model = fit(always_right, l2=1e6)
    assert model.weights == pytest.approx(dict(PRIOR), abs=1e-3)
    assert model.intercept > 3.0


def test_the_fit_learns_what_the_evidence_says() -> None:
    model = fit(_samples(2_000, seed=5), l2=0.01)
    assert model.weights["named"] > 1.0
    assert abs(model.weights["solo"]) < 0.5
