"""The rebalance fix: the app's handler (which commits) runs before the acks are forgotten."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faust.transport.consumer import Consumer

from pipeline import rebalance

pytestmark = pytest.mark.unit


class Bookkeeping:
    """The consumer state the revocation touches, and what the app's handler saw of it."""

    def __init__(self, tp: str) -> None:
        self._active_partitions = {tp}
        self._paused_partitions = {tp}
        self._gap: dict[str, Any] = {tp: []}
        self._acked: dict[str, Any] = {tp: [4, 5, 6]}
        self._acked_index: dict[str, Any] = {tp: {4, 5, 6}}
        self._read_offset: dict[str, int] = {tp: 6}
        self._committed_offset: dict[str, int] = {tp: 3}
        self.seen_by_handler: dict[str, Any] = {}

    async def _on_partitions_revoked(self, revoked: set[str]) -> None:
        self.seen_by_handler = {tp: list(self._acked.get(tp, [])) for tp in revoked}


def test_the_handler_sees_the_acks_and_they_are_dropped_after() -> None:
    state = Bookkeeping("raw-0")
    asyncio.run(rebalance._on_partitions_revoked(state, {"raw-0"}))
    assert state.seen_by_handler == {"raw-0": [4, 5, 6]}
    assert state._acked == {} and state._committed_offset == {} and state._read_offset == {}
    assert state._active_partitions == set() and state._paused_partitions == set()


def test_apply_patches_faust_once_and_revert_restores_it() -> None:
    original = Consumer.__dict__["on_partitions_revoked"]
    try:
        rebalance.apply()
        rebalance.apply()
        assert Consumer.__dict__["on_partitions_revoked"] is rebalance._on_partitions_revoked
    finally:
        rebalance.revert()
    assert Consumer.__dict__["on_partitions_revoked"] is original
