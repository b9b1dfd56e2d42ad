"""A quiet log under faults: the Kafka clients' repeated lines are let through once per state.

While the broker is unreachable, aiokafka and Faust log every failed connect,
fetch and heartbeat: about 2,500 lines in 30 s. :class:`RepeatFilter` lets the
first line of each kind (logger and message template) through, drops its
repeats within ``window`` seconds and counts them; when the broker's state
changes (``pipeline.watch`` calls :meth:`RepeatFilter.reset`) every kind may
be logged once more, and the count of what was dropped is reported in one line.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

NOISY_LOGGERS = ("aiokafka", "kafka", "faust", "mode")
"""Loggers whose repeats are dropped; the pipeline's own log lines always pass."""

REPEAT_WINDOW_SECONDS = 60.0
"""A kind of line seen again after this long is let through once more (a reminder)."""


class RepeatFilter(logging.Filter):
    """Drop repeats of the same client log line (logger + template) within a window."""

    def __init__(
        self,
        window: float = REPEAT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._on_drop = on_drop
        self._seen: dict[tuple[str, str], float] = {}
        self.dropped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record``; False for a repeat of a client line within the window."""
        name = record.name
        if record.levelno < logging.WARNING or not name.startswith(NOISY_LOGGERS):
            return True
        key = (name, str(record.msg))
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last < self.window:
            self.dropped[name.split(".")[0]] += 1
            if self._on_drop is not None:
                self._on_drop(name.split(".")[0])
            return False
        self._seen[key] = now
        return True

    def reset(self) -> int:
        """Forget what was seen (the broker's state changed); return how many lines were dropped."""
        count = sum(self.dropped.values())
        self._seen.clear()
        self.dropped.clear()
        return count


def install(log_filter: RepeatFilter) -> None:
    """Put ``log_filter`` on every handler of the root logger (once)."""
    for handler in logging.getLogger().handlers:
        if log_filter not in handler.filters:
            handler.addFilter(log_filter)
