"""The JoinGroup session-timeout cap of the embedded broker's relay, on encoded requests."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from aiokafka.protocol.group import (
    JoinGroupRequest_v0,
    JoinGroupRequest_v1,
    JoinGroupRequest_v5,
)

from pipeline.broker.quirks import EMBEDDED_JOIN_SESSION_TIMEOUT_MS, cap_join_session_timeout

pytestmark = pytest.mark.unit

PROTOCOLS = [("range", b"\x00\x01meta"), ("roundrobin", b"")]


def _encoded(request: object, client_id: str = "rdkafka") -> bytes:
    header = request.build_request_header(correlation_id=7, client_id=client_id)  # type: ignore[attr-defined]
    return bytes(header.encode()) + bytes(request.encode())  # type: ignore[attr-defined]


def _decoded(cls: type, data: bytes, client_id: str = "rdkafka") -> object:
    body = BytesIO(data[10 + len(client_id.encode()) :])
    return cls.decode(body)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (JoinGroupRequest_v0, ("group-a", 45_000, "", "consumer", PROTOCOLS)),
        (JoinGroupRequest_v1, ("group-a", 45_000, 300_000, "m-1", "consumer", PROTOCOLS)),
        (JoinGroupRequest_v5, ("group-a", 45_000, 300_000, "m-1", "", "consumer", PROTOCOLS)),
    ],
    ids=["v0", "v1", "v5"],
)
def test_a_long_session_timeout_is_capped_and_nothing_else_changes(
    cls: type, args: tuple[object, ...]
) -> None:
    original = _encoded(cls(*args))
    capped = cap_join_session_timeout(original)
    assert len(capped) == len(original)
    fields = list(args)
    fields[1] = EMBEDDED_JOIN_SESSION_TIMEOUT_MS
    assert _decoded(cls, capped).to_object() == cls(*fields).to_object()  # type: ignore[attr-defined]


def test_a_short_session_timeout_and_other_requests_pass_unchanged() -> None:
    short = _encoded(JoinGroupRequest_v1("g", 2000, 2000, "", "consumer", PROTOCOLS))
    assert cap_join_session_timeout(short) is short
    # A Heartbeat (api key 12) with the same bytes after its header is not touched.
    heartbeat = struct.pack(">hh", 12, 1) + short[4:]
    assert cap_join_session_timeout(heartbeat) is heartbeat
    assert cap_join_session_timeout(b"\x00\x0b\x00") == b"\x00\x0b\x00"
    # A JoinGroup cut short before its session timeout is passed on as it is.
    cut = short[:14]
    assert cap_join_session_timeout(cut) is cut


def _compact(text: str) -> bytes:
    data = text.encode()
    return bytes([len(data) + 1]) + data


@pytest.mark.parametrize("version", [6, 7, 9])
def test_flexible_versions_skip_header_tags_and_read_the_compact_group_id(version: int) -> None:
    group = "g" * 200  # a length that takes a two-byte varint
    group_length = len(group) + 1
    request = (
        struct.pack(">hhi", 11, version, 3)
        + struct.pack(">h", 4)
        + b"java"
        # header tags: one tagged field (tag 0, 2 bytes)
        + b"\x01\x00\x02ab"
        + bytes([group_length & 0x7F | 0x80, group_length >> 7])
        + group.encode()
        + struct.pack(">ii", 45_000, 300_000)
        + _compact("member")
        + b"\x00"  # group_instance_id null
        + _compact("consumer")
    )
    capped = cap_join_session_timeout(request)
    at = request.index(struct.pack(">ii", 45_000, 300_000))
    assert struct.unpack_from(">ii", capped, at) == (EMBEDDED_JOIN_SESSION_TIMEOUT_MS, 300_000)
    assert capped[:at] == request[:at] and capped[at + 4 :] == request[at + 4 :]


def test_a_null_client_id_is_read_as_empty() -> None:
    request = struct.pack(">hhih", 11, 0, 1, -1) + struct.pack(">h", 1) + b"g"
    request += struct.pack(">i", 30_000) + struct.pack(">h", 0) + struct.pack(">h", 1) + b"c"
    capped = cap_join_session_timeout(request, cap_ms=1000)
    assert struct.unpack_from(">i", capped, 13) == (1000,)
