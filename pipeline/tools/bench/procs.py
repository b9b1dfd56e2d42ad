"""What the workers use: CPU seconds and memory of a process tree (psutil), sampled in a thread.

psutil walks the process tree and reads CPU times; the memory figures come
from ``/proc/PID/status``, because its ``VmHWM`` (the peak RSS since the
process started, which catches a peak between two samples) is a number psutil
does not give.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


def read_memory(pid: int) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` of ``pid`` in kB, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return parse_memory(text)


def parse_memory(status: str) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` in kB from the text of ``/proc/PID/status``."""
    fields: dict[str, int] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    if "VmRSS" not in fields:
        return None
    return fields["VmRSS"], fields.get("VmHWM", fields["VmRSS"])


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children, their children ...); none when it is gone."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its living descendants (0 when gone)."""
    total = 0.0
    for member in (pid, *descendants(pid)):
        try:
            times = psutil.Process(member).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """``(busy, total)`` CPU seconds of the whole machine since boot; waiting on I/O is idle."""
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds of named processes, of this process and of the machine, at one moment."""

    processes: dict[str, float]
    own: float
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls, pids: Mapping[str, int]) -> CpuSnapshot:
        """Read the counters now."""
        busy, total = machine_cpu_seconds()
        return cls(
            {name: cpu_seconds(pid) for name, pid in pids.items()},
            time.process_time(),
            busy,
            total,
        )

    def since(self, earlier: CpuSnapshot) -> dict[str, float]:
        """CPU seconds used between ``earlier`` and this snapshot, by consumer.

        ``bench`` is this process (producer, collector); ``other`` is everything
        else on the machine (other people's work included); ``capacity`` is
        what all cores could have given.
        """
        used = {
            name: value - earlier.processes.get(name, 0.0) for name, value in self.processes.items()
        }
        used["bench"] = self.own - earlier.own
        busy = self.machine_busy - earlier.machine_busy
        used["other"] = max(busy - sum(used.values()), 0.0)
        used["capacity"] = self.machine_total - earlier.machine_total
        return used


@dataclass(frozen=True)
class MemorySample:
    """One look at the workers: when, in which phase, how far, and each worker's kB."""

    at: float
    phase: str
    done: int
    rss_kb: tuple[int, ...]
    hwm_kb: tuple[int, ...]


def tree_memory(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` in kB of ``pid`` and its descendants together."""
    total_rss = total_hwm = 0
    for member in (pid, *descendants(pid)):
        memory = read_memory(member)
        if memory is not None:
            total_rss += memory[0]
            total_hwm += memory[1]
    return total_rss, total_hwm


class MemorySampler:
    """Samples VmRSS and VmHWM of each worker and its children in a thread."""

    def __init__(
        self,
        pids: Sequence[int],
        progress: Callable[[], tuple[str, int]],
        interval: float = 0.25,
    ) -> None:
        self.pids = tuple(pids)
        self.samples: list[MemorySample] = []
        self._progress = progress
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        """Take one sample now."""
        trees = [tree_memory(pid) for pid in self.pids]
        phase, done = self._progress()
        rss = tuple(rss for rss, _ in trees)
        hwm = tuple(hwm for _, hwm in trees)
        self.samples.append(MemorySample(time.time(), phase, done, rss, hwm))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()


def peak_kb(samples: Sequence[MemorySample]) -> dict[str, int]:
    """The highest VmHWM of each worker (children included) over ``samples``, by index."""
    if not samples:
        return {}
    return {str(i): max(s.hwm_kb[i] for s in samples) for i in range(len(samples[0].hwm_kb))}


def memory_report(
    samples: Sequence[MemorySample], phase: str, total: int, window: int
) -> dict[str, Any]:
    """Peak RSS per worker; RSS over the first and last ``window`` articles of ``phase``.

    The window figures are the medians of the samples taken while that many
    articles had (first) or had not yet (last) reached their terminal record;
    ``growth`` is last/first - 1 for the workers together. ``trajectory`` is the
    median RSS (kB, workers together) in each twentieth of the run, keyed by the
    articles done at its start.
    """
    if not samples:
        return {}
    ordered = [s for s in samples if s.phase == phase]
    report: dict[str, Any] = {"peak_kb": peak_kb(samples), "window": window}
    report["trajectory"] = _trajectory(ordered, total)
    first = [sum(s.rss_kb) for s in ordered if s.done < window]
    last = [sum(s.rss_kb) for s in ordered if s.done >= total - window]
    if first and last:
        report["first_window_kb"] = statistics.median(first)
        report["last_window_kb"] = statistics.median(last)
        report["growth"] = report["last_window_kb"] / report["first_window_kb"] - 1
    # The first window also holds the pipeline filling up (no article is done yet
    # while the first batches go through four stages), so the same comparison from
    # the end of the first window to the end of the run is given beside it.
    warm = next((sum(s.rss_kb) for s in ordered if s.done >= window), None)
    if warm is not None and ordered[-1].done >= total:
        report["after_first_window_kb"] = warm
        report["end_kb"] = sum(ordered[-1].rss_kb)
        report["growth_after_first_window"] = report["end_kb"] / warm - 1
    return report


def _trajectory(samples: Sequence[MemorySample], total: int) -> dict[str, float]:
    """Median RSS (kB, workers together) in each twentieth of the run, by articles done."""
    step = max(total // 20, 1)
    buckets: dict[int, list[int]] = {}
    for sample in samples:
        bucket = min(sample.done, total) // step * step
        buckets.setdefault(bucket, []).append(sum(sample.rss_kb))
    return {str(done): statistics.median(values) for done, values in sorted(buckets.items())}
