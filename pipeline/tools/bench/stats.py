"""The benchmark's statistics: percentiles (numpy), summaries, medians over runs, targets."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TARGETS = (
    ("pipeline / (cores x limit), best configuration", ">=", 0.85),
    ("pipeline/limit, 1 worker", ">=", 0.90),
    ("p99 ingest->emit at half saturation (s)", "<=", 1.0),
    ("2 workers / 1 worker", ">=", 1.8),
    ("worker RSS growth after the first window", "<=", 0.10),
)
"""Targets of the benchmark: (name, what it compares, threshold)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolating linearly between closest ranks (numpy's default).

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside ``[0, 100]``.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Count, p50, p95, p99, mean and max of ``values`` (just the count when empty)."""
    if not values:
        return {"count": 0}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
    return {
        "count": len(values),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def median_of_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The median of every number found at the same place in every run's report.

    Nested mappings are followed; lists and strings are left out (they do not
    have medians), and so are numbers some runs lack (a run that timed out).
    """
    keys: dict[str, None] = {}
    for one in runs:
        keys.update(dict.fromkeys(one))
    merged: dict[str, Any] = {}
    for key in keys:
        values = [one[key] for one in runs if key in one]
        if len(values) < len(runs):
            continue
        if all(isinstance(v, Mapping) for v in values):
            inner = median_of_runs(values)
            if inner:
                merged[key] = inner
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            merged[key] = statistics.median(values)
    return merged


def check_targets(median: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured median and whether it holds (None: not measured)."""
    pipelines = median.get("pipeline", {})
    any_config: Mapping[str, Any] = pipelines.get("1") or next(iter(pipelines.values()), {})
    p99 = any_config.get("latency", {}).get("end_to_end", {}).get("p99")
    # From the end of the first window (the pipeline filled) to the end of the run, as
    # the memory target is stated; the first-vs-last medians when a run has no end sample.
    rss = any_config.get("rss", {})
    growth = rss.get("growth_after_first_window", rss.get("growth"))
    machine = median.get("of_machine") or {}
    best = max(machine.values()) if machine else None
    values = (best, median.get("ratio", {}).get("1"), p99, median.get("scaling"), growth)
    checks = []
    for (name, op, threshold), value in zip(TARGETS, values, strict=True):
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        checks.append({"target": name, "want": f"{op} {threshold}", "value": value, "met": met})
    return checks
