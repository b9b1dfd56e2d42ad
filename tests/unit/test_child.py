"""A stage in a child process: same outputs, survives the child dying, dies with its parent.

The stages run here are the real validate stage (no models to load, so each
child starts in about a second) and a fragile wrapper around it that ends its
process on one marked record, standing in for a crash in native code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from pipeline.codec import Origin
from pipeline.models import Article, DeadLetter
from pipeline.stages.base import BatchResult, Record
from pipeline.stages.child import ChildStage
from pipeline.stages.validate import Deduper, ValidateStage

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
POISON = b"end this process"


def validate_stage() -> ValidateStage:
    return ValidateStage(max_message_bytes=1 << 20, max_body_bytes=1 << 20, deduper=Deduper(0))


class FragileStage:
    """The validate stage, except that a record whose value is ``POISON`` ends the process."""

    id = "validate"
    input_role = "raw"
    output_roles = ("valid", "dlq")

    def __init__(self) -> None:
        self.inner = validate_stage()

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        if any(record.value == POISON for record in records):
            os._exit(3)
        if any(record.value == b"raise" for record in records):
            raise RuntimeError("a bug in the stage")
        return self.inner.process(records, now)


def _records(*values: bytes) -> list[Record]:
    return [
        Record(value=value, origin=Origin("raw", 0, offset), key=f"k{offset}".encode())
        for offset, value in enumerate(values)
    ]


def _article(n: int) -> bytes:
    return orjson.dumps({"id": f"child-{n}", "body": f"Envoys met in Vienna on day {n}."})


def _child(factory: object) -> ChildStage:
    return ChildStage(
        factory,  # type: ignore[arg-type]
        id="validate",
        input_role="raw",
        output_roles=("valid", "dlq"),
    )


@pytest.fixture
def fragile() -> Iterator[ChildStage]:
    stage = _child(FragileStage)
    stage.start()
    stage.wait_started()
    yield stage
    stage.close()


def test_outputs_equal_the_in_process_stage() -> None:
    stage = _child(validate_stage)
    try:
        records = _records(_article(1), b"not json", _article(2))
        remote = stage.process(records, NOW)
        assert stage.child_pid() != os.getpid()
    finally:
        stage.close()
    local = validate_stage().process(records, NOW)
    assert [(o.role, o.key, o.value) for o in remote.outputs] == [
        (o.role, o.key, o.value) for o in local.outputs
    ]
    assert [o.role for o in remote.outputs] == ["valid", "dlq", "valid"]


def test_a_child_killed_between_batches_is_restarted(fragile: ChildStage) -> None:
    os.kill(fragile.child_pid(), signal.SIGKILL)
    time.sleep(0.5)
    result = fragile.process(_records(_article(1), _article(2)), NOW)
    assert [o.role for o in result.outputs] == ["valid", "valid"]
    assert fragile.restarts == 1


def test_the_record_that_kills_the_child_is_dead_lettered_alone(fragile: ChildStage) -> None:
    first = fragile.child_pid()
    result = fragile.process(_records(_article(1), POISON, _article(2)), NOW)
    assert [o.role for o in result.outputs] == ["valid", "dlq", "valid"]
    letter = result.outputs[1].value
    assert isinstance(letter, DeadLetter)
    assert letter.error_kind == "nlp_process_died"
    assert letter.article_id == "k1"
    assert [a.value.id for a in result.outputs if isinstance(a.value, Article)] == [
        "child-1",
        "child-2",
    ]
    # Once for the batch, once for the poison record on its own.
    assert fragile.restarts == 2
    assert fragile.child_pid() != first
    again = fragile.process(_records(_article(3)), NOW)
    assert [o.role for o in again.outputs] == ["valid"]


def test_an_exception_in_the_child_reaches_the_caller(fragile: ChildStage) -> None:
    with pytest.raises(RuntimeError, match="a bug in the stage"):
        fragile.process(_records(b"raise"), NOW)
    assert fragile.restarts == 0


SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
from tests.unit.test_child import _child, validate_stage
stage = _child(validate_stage)
print(stage.child_pid(), flush=True)
time.sleep(600)
"""


def test_the_child_exits_when_its_worker_is_killed() -> None:
    root = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(root=root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the child outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
