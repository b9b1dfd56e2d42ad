"""A stage whose work runs in a child process: the parse gets a core of its own.

The GIL lets one thread of a process run Python at a time, and a worker's
event loop, Kafka clients and JSON share it with spaCy. ``ChildStage`` runs a
stage (the extract stage: the parse, ~85% of an article's CPU) in child
processes and waits for them from the agent's executor threads, so the parse
and the Kafka side use separate cores.

The child is started with ``spawn`` (never forked from a process with running
threads) and loads its own models. If it dies (killed, out of memory, a crash
in native code), the pool is restarted and the batch is retried one record at
a time; a record during which the child dies again is dead-lettered as
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
from pipeline.logs import current_setup, setup_logging
from pipeline.stages.base import BatchResult, Record, Stage, record_key_id, reject
from pipeline.topics import Role

log = logging.getLogger(__name__)

_stage: Stage | None = None
"""The stage inside the child process."""


PARENT_CHECK_SECONDS = 1.0
"""How often the child checks that its worker is still alive."""


def _start_child(factory: Callable[[], Stage], log_setup: tuple[str, str] | None = None) -> None:
    global _stage
    if log_setup is not None:  # the worker's log format, not a child's own
        setup_logging(*log_setup)
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
    """A ``Stage`` whose ``process`` runs in ``processes`` child processes built by ``factory``.

    ``factory`` must be picklable (a module-level function or a
    ``functools.partial`` of one): each child calls it once to build its stage.
    Calls from several threads run in parallel, one batch per child.
    """

    def __init__(
        self,
        factory: Callable[[], Stage],
        *,
        id: str,
        input_role: Role,
        output_roles: tuple[Role, ...],
        processes: int = 1,
    ) -> None:
        if processes < 1:
            raise ValueError("a ChildStage needs at least one process")
        self.id = id
        self.input_role = input_role
        self.output_roles = output_roles
        self.processes = processes
        self._factory = factory
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._started: list[Future[bool]] = []
        self.restarts = 0

    def start(self) -> None:
        """Start the children; they build their stages (load their models) in the background.

        The pool starts a child whenever a task finds none idle, so submitting
        one task per child before any has finished starts all of them now.
        """
        pool = self._executor()
        self._started = [pool.submit(_ready) for _ in range(self.processes)]

    def wait_started(self) -> None:
        """Wait until the children have built their stages; raise if one could not."""
        if not self._started:
            self.start()
        if not all(started.result() for started in self._started):
            raise RuntimeError(f"stage {self.id}: a child process did not build its stage")

    def child_pid(self) -> int:
        """The process id of a child (starts one if needed)."""
        return self._executor().submit(os.getpid).result()

    def alive(self) -> bool:
        """True unless a started child process has died (a restart is then due or under way)."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return True
        processes = getattr(pool, "_processes", None) or {}
        return all(process.is_alive() for process in list(processes.values()))

    def close(self) -> None:
        """Stop the children (waits for batches in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Run the stage on ``records`` in a child; survive the child dying."""
        pool = self._executor()
        try:
            return pool.submit(_process_in_child, list(records), now).result()
        except BrokenProcessPool:
            log.error(
                "stage %s: a child process died during a batch of %d; restarting and "
                "retrying the batch one record at a time",
                self.id,
                len(records),
            )
            self._restart(pool)
        result = BatchResult()
        for record in records:
            pool = self._executor()
            try:
                part = pool.submit(_process_in_child, [record], now).result()
            except BrokenProcessPool:
                log.error("stage %s: a child process died again on one record", self.id)
                self._restart(pool)
                died = Rejected(
                    "nlp_process_died",
                    "the NLP child process died while processing this message",
                    record_key_id(record),
                )
                result.outputs.append(reject(record, self.id, died, now))
                continue
            result.merge(part)
        return result

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self._factory, current_setup()),
                )
            return self._pool

    def _restart(self, failed: ProcessPoolExecutor) -> None:
        """Drop ``failed``; the next call starts a new pool. Another thread may have already."""
        with self._lock:
            if self._pool is not failed:
                return
            self._pool = None
            self.restarts += 1
        failed.shutdown(wait=False, cancel_futures=True)
