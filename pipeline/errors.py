"""The error whose message is meant for the user: the CLI prints it, without a traceback."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """A failure with a message meant for the user, not a traceback."""


class PortInUse(PipelineError):
    """The web port a worker would serve ``/metrics`` and ``/healthz`` on is taken."""
