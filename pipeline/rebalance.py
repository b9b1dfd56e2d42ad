"""A rebalance commits what was finished before it forgets it (a fix to faust-streaming 0.15.3).

``faust.transport.consumer.Consumer.on_partitions_revoked`` drops its record of
the acknowledged offsets of the revoked partitions (``_acked``) and only then
calls the app's handler, which waits for the streams and commits. With eager
rebalancing every partition is revoked, so each rebalance threw away every
acknowledgement since the last periodic commit (every 2.8 s): the member then
sought back to the old committed offsets and did that work again, and every
later stage did its part again too (3-4 copies of an account when one of two
workers stopped politely, all of them on the survivor's partitions).

:func:`apply` swaps the order: the app's handler first (pause, clear the
buffers, wait until what the agents took is acknowledged, commit), then the
bookkeeping of the revoked partitions is dropped.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_original: Any = None


def apply() -> None:
    """Patch Faust's consumer; a no-op when already applied."""
    global _original
    from faust.transport.consumer import Consumer

    with _lock:
        if _original is not None:
            return
        _original = Consumer.__dict__["on_partitions_revoked"]
        Consumer.on_partitions_revoked = _on_partitions_revoked  # type: ignore[method-assign]


def revert() -> None:
    """Undo :func:`apply` (for tests)."""
    global _original
    from faust.transport.consumer import Consumer

    with _lock:
        if _original is not None:
            Consumer.on_partitions_revoked = _original  # type: ignore[method-assign]
            _original = None


async def _on_partitions_revoked(self: Any, revoked: set[Any]) -> None:
    """Commit what was acknowledged (the app's handler), then forget the revoked partitions."""
    await self._on_partitions_revoked(revoked)
    if self._active_partitions is not None:
        self._active_partitions.difference_update(revoked)
    self._paused_partitions.difference_update(revoked)
    for tp in revoked:
        self._gap.pop(tp, None)
        self._acked.pop(tp, None)
        self._acked_index.pop(tp, None)
        self._read_offset.pop(tp, None)
        self._committed_offset.pop(tp, None)
