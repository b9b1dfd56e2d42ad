"""A Kafka-protocol relay in front of the embedded broker that can rewrite requests.

Clients connect to the relay's port, which is also the address the broker
advertises; the relay passes every byte on to the broker's own loopback port
and back. Requests are framed (a 4-byte size, then the request) so that a
rewrite hook sees each whole request; responses are passed through untouched.
``pipeline.broker.quirks`` says what is rewritten and why; this module only
moves bytes.

The relay runs an asyncio loop in a daemon thread of the process that owns the
broker, so it lives and dies with that process, like the broker itself.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable

from pipeline.broker.errors import BrokerError

log = logging.getLogger(__name__)

__all__ = ["KafkaFront", "RequestRewrite"]

RequestRewrite = Callable[[bytes], bytes]
"""Takes one request without its size prefix and returns the request to send on."""

_PUMP_CHUNK = 1 << 16
_MAX_REQUEST_BYTES = 1 << 30


class KafkaFront:
    """Listens on ``host:port`` and relays every connection to ``host:upstream_port``.

    Bind with :meth:`bind` (the port is known and taken from then on), set the
    upstream with :meth:`start`, stop with :meth:`stop`. A stopped relay closes
    its listening socket and every relayed connection before ``stop`` returns.
    """

    def __init__(self, rewrite: RequestRewrite, host: str = "127.0.0.1") -> None:
        self.host = host
        self._rewrite = rewrite
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._upstream_port = 0

    @property
    def port(self) -> int:
        """The port clients connect to."""
        if self._sock is None:
            raise BrokerError("the relay is not bound")
        port: int = self._sock.getsockname()[1]
        return port

    def bind(self, port: int | None) -> int:
        """Take ``port`` (``None``: a free one chosen by the kernel) and return it.

        Raises:
            BrokerError: The port is taken (the message names ``AddrInUse``).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, port or 0))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise BrokerError(f"port {port} on {self.host} is taken (AddrInUse): {exc}") from exc
        self._sock = sock
        return self.port

    def start(self, upstream_port: int) -> None:
        """Relay new connections on the bound port to ``upstream_port`` (again: a new upstream)."""
        if self._sock is None:
            raise BrokerError("bind the relay before starting it")
        self._upstream_port = upstream_port
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def serve() -> None:
                self._server = await asyncio.start_server(self._relay, sock=self._sock)
                ready.set()

            loop.run_until_complete(serve())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="dipwire-broker-front", daemon=True)
        self._thread.start()
        if not ready.wait(5.0):
            raise BrokerError("the relay in front of the broker did not start")

    def stop(self) -> None:
        """Close the listening socket and every relayed connection; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._close(), loop)
            try:
                future.result(5.0)
            except Exception as exc:  # closing is best effort; the thread still ends
                log.debug("closing the relay: %s", exc)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5.0)
        elif self._sock is not None:
            self._sock.close()
        self._sock = None
        self._loop = None
        self._thread = None
        self._server = None

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            broker_r, broker_w = await asyncio.open_connection(self.host, self._upstream_port)
        except OSError as exc:
            log.debug("relay could not reach the broker: %s", exc)
            self._writers.discard(client_w)
            client_w.close()
            return
        self._writers.add(broker_w)
        requests = asyncio.ensure_future(self._requests(client_r, broker_w))
        responses = asyncio.ensure_future(self._pump(broker_r, client_w))
        try:
            await asyncio.wait({requests, responses}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (requests, responses):
                task.cancel()
            for writer in (client_w, broker_w):
                self._writers.discard(writer)
                writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pass on each framed request, rewritten by the hook."""
        try:
            while True:
                head = await reader.readexactly(4)
                size = int.from_bytes(head, "big", signed=True)
                if not 0 <= size <= _MAX_REQUEST_BYTES:
                    log.warning("relay: request size %d is out of range; closing", size)
                    return
                request = self._rewrite(await reader.readexactly(size))
                writer.write(len(request).to_bytes(4, "big", signed=True) + request)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pass the broker's responses on as they come."""
        try:
            while chunk := await reader.read(_PUMP_CHUNK):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            return
