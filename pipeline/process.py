"""What the child processes this package starts share: free ports, and start/stop as a context.

The embedded broker (``pipeline.broker.embedded``) and a worker started as a
child (``pipeline.worker.WorkerProcess``) are both run ``with`` a block: started
on entry, stopped on exit, whatever happened inside.
"""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class ChildProcess:
    """Started on entering a ``with`` block, stopped on leaving it; subclasses do the work."""

    def start(self) -> Self:
        """Start the process; return once it can be used."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the process and wait until it has exited; safe to call twice."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.stopped(ok=exc is None)

    def stopped(self, ok: bool) -> None:
        """After a ``with`` block: ``ok`` is False when it raised (a subclass keeps its logs)."""
