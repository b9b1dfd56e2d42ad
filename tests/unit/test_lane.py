"""The long lane's delivery: a long article's offset is acknowledged only after it is published."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import pytest

from pipeline.codec import Origin
from pipeline.stages.base import Record, Stage
from pipeline.stages.lane import LongLane, is_long

pytestmark = pytest.mark.unit


@dataclass(eq=False)
class Message:
    """Faust's message as the lane touches it: a reference count."""

    refcount: int = 1

    def incref(self) -> None:
        self.refcount += 1


@dataclass(eq=False)
class Event:
    """A Faust event: its message."""

    message: Message = field(default_factory=Message)


def _records(*sizes: int) -> list[Record]:
    return [Record(b"x" * n, Origin("articles.valid", 0, i)) for i, n in enumerate(sizes)]


def _run(coroutine: object) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_only_messages_at_the_threshold_go_to_the_lane() -> None:
    short, at, above = _records(99, 100, 101)
    assert [is_long(r, 100) for r in (short, at, above)] == [False, True, True]


def test_the_lane_acks_a_long_article_after_its_piece_is_published_and_returns_the_rest() -> None:
    log: list[str] = []
    events = [Event(), Event(), Event()]
    records = _records(10, 500, 20)

    async def run_piece(stage: Stage, pool: Executor | None, piece: Sequence[Record]) -> None:
        log.append(f"published {piece[0].origin.offset}")

    async def ack(event: Event) -> None:
        event.message.refcount -= 1
        log.append(f"acked {events.index(event)}")

    async def scenario() -> None:
        lane = LongLane(stage=None, executor=None, min_bytes=100)  # type: ignore[arg-type]
        rest = await lane.divert(events, records, run_piece, ack)
        assert rest == [records[0], records[2]]
        # Held by the lane: the batch's own ack leaves it at one reference, not committed.
        assert events[1].message.refcount == 2 and log == []
        await lane.drain()

    _run(scenario())
    assert log == ["published 1", "acked 1"]
    assert [e.message.refcount for e in events] == [1, 1, 1]


def test_a_long_article_whose_publish_fails_stays_unacknowledged() -> None:
    acked: list[Event] = []
    events = [Event()]

    async def run_piece(stage: Stage, pool: Executor | None, piece: Sequence[Record]) -> None:
        raise RuntimeError("a bug in a stage")

    async def ack(event: Event) -> None:
        acked.append(event)

    async def scenario() -> None:
        lane = LongLane(stage=None, executor=None, min_bytes=1, depth=1)  # type: ignore[arg-type]
        await lane.divert(events, _records(5), run_piece, ack)
        await lane.drain()
        # The slot is free again: a second long article is taken, not waited for forever.
        await asyncio.wait_for(lane.divert([Event()], _records(5), run_piece, ack), timeout=30)
        await lane.drain()

    _run(scenario())
    assert acked == [] and events[0].message.refcount == 2


def test_a_full_lane_makes_the_agent_wait_for_a_slot() -> None:
    release = asyncio.Event()
    started: list[int] = []

    async def run_piece(stage: Stage, pool: Executor | None, piece: Sequence[Record]) -> None:
        started.append(piece[0].origin.offset or 0)
        await release.wait()

    async def ack(event: Event) -> None:
        pass

    async def scenario() -> None:
        lane = LongLane(stage=None, executor=None, min_bytes=1, depth=2)  # type: ignore[arg-type]
        records = _records(5, 5, 5)
        taking = asyncio.ensure_future(lane.divert([Event()] * 3, records, run_piece, ack))
        while len(started) < 2:
            await asyncio.sleep(0.01)
        assert not taking.done()  # the third waits for one of the first two
        release.set()
        await asyncio.wait_for(taking, timeout=30)
        await lane.drain()

    _run(scenario())
    assert started == [0, 1, 2]
