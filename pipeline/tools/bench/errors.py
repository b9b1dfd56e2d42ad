"""The error of the benchmark: it could not complete."""

from __future__ import annotations


class BenchError(RuntimeError):
    """The benchmark could not complete (a worker died, a phase timed out)."""
