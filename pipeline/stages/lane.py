"""The long lane: a long article is parsed on a parse process of its own, beside the batches.

A parse process parses one batch at a time, so an article taken while a long
one is parsed waits for that parse: the 11,000-19,000-character articles of
the Wikinews corpus take 0.7-1.5 s, and they made the p99 of the extract hop.
The extract agent hands every article whose message is at least
``DIPWIRE_LONG_ARTICLE_BYTES`` to :class:`LongLane` and goes on taking
batches; the lane parses, fits and publishes it on its own parse process and
acknowledges its input offset then.

Delivery stays at least once. The agent takes one more reference on the long
article's Faust message before ``take_events`` acknowledges the batch, so the
batch's acknowledgement leaves that offset uncommitted; the lane drops the
reference once the article's outputs are acknowledged by the broker. Faust
commits a partition's highest *contiguous* acknowledged offset, so nothing
after the long article on its partition is committed before it either: a crash
meanwhile replays it and what follows (the replay is deterministic).

Order: the outputs of a short article can overtake those of a long one read
before it on the same partition (as they already could within one batch,
which is parsed shortest first). Records of one article id stay in order: an
article is one message, and every output of it is published by whoever parsed
it, together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from pipeline.stages.base import Record, Stage

log = logging.getLogger(__name__)

LANE_DEPTH = 16
"""Long articles in a lane at once (parsed or waiting for its process); at that depth the
agent waits for the lane to take the next one, so a stream of long articles is back-pressured
like any other."""

RunPiece = Callable[[Stage, Executor | None, Sequence[Record]], Awaitable[None]]
"""Processes, fits and publishes one piece of records on a stage (the agent's own step)."""


def is_long(record: Record, min_bytes: int) -> bool:
    """Whether ``record`` goes to the long lane: its message is at least ``min_bytes``."""
    return len(record.value) >= min_bytes


@dataclass
class LongLane:
    """Long articles on ``stage`` (a parse process of their own), published as they finish."""

    stage: Stage
    executor: Executor
    min_bytes: int
    depth: int = LANE_DEPTH
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None

    async def divert(
        self,
        events: Sequence[Any],
        records: Sequence[Record],
        run_piece: RunPiece,
        ack: Callable[[Any], Awaitable[Any]],
    ) -> list[Record]:
        """Start the long records of a batch on the lane; return the others, in order.

        Each long record's Faust message gets one more reference here, so the
        batch's acknowledgement does not commit it; ``ack(event)`` drops that
        reference once its outputs are published.
        """
        rest: list[Record] = []
        for event, record in zip(events, records, strict=True):
            if not is_long(record, self.min_bytes):
                rest.append(record)
                continue
            await self._slot().acquire()
            event.message.incref()
            task = asyncio.ensure_future(self._run(event, record, run_piece, ack))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return rest

    async def _run(
        self,
        event: Any,
        record: Record,
        run_piece: RunPiece,
        ack: Callable[[Any], Awaitable[Any]],
    ) -> None:
        try:
            await run_piece(self.stage, self.executor, [record])
        except Exception:
            # Left unacknowledged: the offset is not committed, a restart replays it.
            log.exception("long lane: article at %s failed; its offset stays open", record.origin)
        else:
            await ack(event)
        finally:
            self._slot().release()

    def _slot(self) -> asyncio.Semaphore:
        if self._slots is None:  # made in the agent's event loop
            self._slots = asyncio.Semaphore(self.depth)
        return self._slots

    async def drain(self) -> None:
        """Wait for every long article in the lane (tests; a stop cancels them instead)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
