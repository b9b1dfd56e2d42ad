"""What the worker knows about its own health, as plain state and pure decisions.

``/healthz`` (liveness) asks: is the event loop answering and is every parse
process alive? ``/readyz`` (readiness) asks: has the worker joined its group
with partitions assigned, is the broker reachable, is it not stopping, and has
no stage been without progress for longer than ``stall_seconds`` while it had
lag? The Faust side (``pipeline.watch``) feeds this state; the answers are
computed here, so they are tested without a broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class StageWatch:
    """One stage's progress and lag, on the monotonic clock."""

    last_progress: float | None = None
    lag: int = 0
    lag_since: float | None = None
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    """Next offset to process per (topic, partition), from the batches the stage finished."""

    def progressed(self, now: float, done: Mapping[tuple[str, int], int]) -> None:
        """A batch was published: ``done`` holds the last offset processed per partition."""
        self.last_progress = now
        for tp, offset in done.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset + 1)

    def observe_lag(self, lag: int, now: float) -> None:
        """The stage is ``lag`` messages behind its input's high watermarks."""
        self.lag = max(lag, 0)
        if self.lag == 0:
            self.lag_since = None
        elif self.lag_since is None:
            self.lag_since = now

    def stalled_for(self, now: float) -> float:
        """Seconds the stage has had lag without finishing a batch; 0 when it has no lag."""
        if self.lag_since is None:
            return 0.0
        since = max(self.lag_since, self.last_progress or self.lag_since)
        return max(now - since, 0.0)


@dataclass
class BrokerWatch:
    """Whether the broker answered the last probe, and every change of that."""

    reachable: bool | None = None
    failures: int = 0
    since: float | None = None
    """When the current state began (monotonic)."""

    def observe(self, ok: bool, now: float) -> tuple[str, float] | None:
        """Record a probe; return ``("lost"|"regained", seconds in the old state)`` on a change."""
        if not ok:
            self.failures += 1
        previous, started = self.reachable, self.since
        if previous is ok:
            return None
        self.reachable, self.since = ok, now
        if previous is None:
            return None if ok else ("lost", 0.0)
        return ("regained" if ok else "lost", now - (now if started is None else started))


@dataclass
class Health:
    """The worker's state as the probes see it."""

    stages: dict[str, StageWatch] = field(default_factory=dict)
    broker: BrokerWatch = field(default_factory=BrokerWatch)
    assigned: int = 0
    """Partitions of the pipeline's input topics assigned to this worker."""
    stopping: bool = False

    def stage(self, stage_id: str) -> StageWatch:
        """The watch of ``stage_id``, made on first use."""
        return self.stages.setdefault(stage_id, StageWatch())

    def readiness(self, now: float, stall_seconds: float) -> list[str]:
        """Why the worker is not ready; an empty list means ready."""
        reasons: list[str] = []
        if self.stopping:
            reasons.append("stopping")
        if self.assigned == 0:
            reasons.append("no partitions assigned (not joined to the group yet)")
        if self.broker.reachable is not True:
            reasons.append(
                "broker unreachable" if self.broker.reachable is False else "broker not probed yet"
            )
        for stage_id, watch in sorted(self.stages.items()):
            stalled = watch.stalled_for(now)
            if stalled > stall_seconds:
                reasons.append(
                    f"stage {stage_id}: no progress for {stalled:.0f} s with {watch.lag} "
                    "message(s) of lag"
                )
        return reasons


def liveness(children_alive: bool) -> list[str]:
    """Why the worker is not alive (the event loop answered, or nobody would ask)."""
    return [] if children_alive else ["a parse process is not alive"]
