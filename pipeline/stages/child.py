"""A stage whose work runs in a child process: the parse gets a core of its own.

The GIL lets one thread of a process run Python at a time, and a worker's
event loop, Kafka clients and JSON share it with spaCy. ``ChildStage`` runs a
stage (the extract stage: the parse, ~85% of an article's CPU) in one child
process and waits for it from the agent's executor thread, so the parse and
the Kafka side use separate cores.

The child is started with ``spawn`` (never forked from a process with running
threads) and loads its own models. If it dies (killed, out of memory, a crash
in native code), it is restarted and the batch is retried one record at a
time; a record during which the child dies again is dead-lettered as
``nlp_process_died`` and the rest go on. A child whose worker is gone (even
killed with SIGKILL) exits within a second.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from pipeline.codec import Rejected
from pipeline.stages.base import BatchResult, Record, Stage, record_key_id, reject

log = logging.getLogger(__name__)

_stage: Stage | None = None
"""The stage inside the child process."""


PARENT_CHECK_SECONDS = 1.0
"""How often the child checks that its worker is still alive."""


def _start_child(factory: Callable[[], Stage]) -> None:
    global _stage
    # Ctrl-C reaches the whole process group; the worker decides when the child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True
    ).start()
    _stage = factory()


def _exit_with_parent(parent: int) -> None:
    """End the child once its worker is gone (killed with SIGKILL, say).

    The child's task pipe stays open in the child itself, so it would never
    read end-of-file; an orphan is re-parented, which is what this watches for.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _ready() -> bool:
    return _stage is not None


def _process_in_child(records: Sequence[Record], now: datetime) -> BatchResult:
    assert _stage is not None, "the child process has no stage"
    return _stage.process(records, now)


class ChildStage:
    """A ``Stage`` whose ``process`` runs in a child process built by ``factory``.

    ``factory`` must be picklable (a module-level function or a
    ``functools.partial`` of one): the child calls it once to build the stage.
    """

    def __init__(
        self,
        factory: Callable[[], Stage],
        *,
        id: str,
        input_role: str,
        output_roles: tuple[str, ...],
    ) -> None:
        self.id = id
        self.input_role = input_role
        self.output_roles = output_roles
        self._factory = factory
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._started: Future[bool] | None = None
        self.restarts = 0

    def start(self) -> None:
        """Start the child; it builds its stage (loads its models) in the background."""
        self._started = self._executor().submit(_ready)

    def wait_started(self) -> None:
        """Wait until the child has built its stage; raise if it could not."""
        if self._started is None:
            self.start()
        assert self._started is not None
        if not self._started.result():
            raise RuntimeError(f"stage {self.id}: the child process did not build its stage")

    def child_pid(self) -> int:
        """The process id of the child (starts it if needed)."""
        return self._executor().submit(os.getpid).result()

    def close(self) -> None:
        """Stop the child (waits for a batch in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Run the stage on ``records`` in the child; survive the child dying."""
        try:
            return self._call(records, now)
        except BrokenProcessPool:
            log.error(
                "stage %s: the child process died during a batch of %d; restarting it and "
                "retrying the batch one record at a time",
                self.id,
                len(records),
            )
            self._restart()
        result = BatchResult()
        for record in records:
            try:
                part = self._call([record], now)
            except BrokenProcessPool:
                log.error("stage %s: the child process died again on one record", self.id)
                self._restart()
                died = Rejected(
                    "nlp_process_died",
                    "the NLP child process died while processing this message",
                    record_key_id(record),
                )
                result.outputs.append(reject(record, self.id, died, now))
                continue
            result.outputs.extend(part.outputs)
            result.truncated += part.truncated
            for reason, count in part.duplicates.items():
                result.duplicates[reason] = result.duplicates.get(reason, 0) + count
        return result

    def _call(self, records: Sequence[Record], now: datetime) -> BatchResult:
        return self._executor().submit(_process_in_child, list(records), now).result()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self._factory,),
                )
            return self._pool

    def _restart(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self.restarts += 1
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
