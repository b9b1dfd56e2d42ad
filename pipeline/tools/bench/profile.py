"""py-spy profiles of the workers during a throughput phase, and where their samples went."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.tools.bench.errors import BenchError

Profilers = list[tuple[Path, subprocess.Popen[bytes]]]
"""Each profile's output file and the py-spy process writing it."""


def start_profilers(folder: Path, procs: Sequence[Any], workers: int) -> Profilers:
    """Attach py-spy to each worker (children included), writing raw collapsed stacks."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise BenchError("--profile needs py-spy (pip install py-spy)")
    folder.mkdir(parents=True, exist_ok=True)
    started = []
    for i, proc in enumerate(procs):
        path = folder / f"worker-{workers}w-{i}.txt"
        command = [spy, "record", "--pid", str(proc.pid), "--rate", "100", "--format", "raw"]
        command += ["--subprocesses", "--nolineno", "--output", str(path)]
        started.append(
            (path, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    time.sleep(1.0)  # py-spy attaches before the first article arrives
    return started


def stop_profilers(profilers: Profilers) -> None:
    """Ask each py-spy to write its profile (SIGINT), and wait for it."""
    for _, spy in profilers:
        spy.send_signal(signal.SIGINT)
    for _, spy in profilers:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def summarize_profile(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Where the samples of a collapsed-stack profile went: self and inclusive, by function.

    Each line is ``frame;frame;...;frame count`` (py-spy ``--format raw``), the
    leaf last. A function counts once per stack for its inclusive share.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self": [(frame, n / total) for frame, n in own.most_common(top)],
        "inclusive": [(frame, n / total) for frame, n in inclusive.most_common(top)],
    }
