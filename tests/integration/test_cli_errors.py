"""Every user error through the real command: one or two lines on stderr, the documented status.

Each case runs ``python -m pipeline`` as a subprocess and checks what a user
sees: the sentence, the hint, no traceback (unless ``--debug``), and the exit
status of the README's table (``pipeline.exits.Exit``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.exits import Exit
from pipeline.process import free_port
from tests.integration.conftest import BrokerHandle

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"^publish: \d+article")


def clean_env(**values: str) -> dict[str, str]:
    """This environment without any setting of the pipeline, plus ``values``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DIPWIRE_") and k != "KAFKA_BOOTSTRAP_SERVERS"
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(values)
    return env


def dipwire(
    *args: str, env: dict[str, str], timeout: float = 120, stdin: str | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        cwd=REPO,
    )
    return done, time.monotonic() - started


def closed_address() -> str:
    """A loopback address nothing listens on."""
    return f"127.0.0.1:{free_port('127.0.0.1')}"


def assert_user_error(done: subprocess.CompletedProcess[str], code: Exit, *needles: str) -> None:
    """At most two lines on stderr, no traceback, the given status, and every needle in it."""
    # `dipwire ingest` draws a progress bar (tqdm) before it reads; that is not the error.
    lines = [line for line in done.stderr.strip().splitlines() if not PROGRESS.match(line)]
    assert done.returncode == code, done.stderr
    assert 1 <= len(lines) <= 2, done.stderr
    assert lines[0].startswith("dipwire: "), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr


@pytest.mark.parametrize("command", [["worker"], ["ingest", "-"], ["tail"]])
def test_a_wrong_broker_address_fails_fast_in_one_sentence(command: list[str]) -> None:
    address = closed_address()
    env = clean_env(KAFKA_BOOTSTRAP_SERVERS=address, DIPWIRE_BOOTSTRAP_TIMEOUT="1")
    done, seconds = dipwire(*command, env=env, stdin='{"id": "a", "body": "b"}\n')
    assert_user_error(
        done,
        Exit.BROKER,
        f"no Kafka answered at {address} within 1 s",
        "KAFKA_BOOTSTRAP_SERVERS",
        "DIPWIRE_BOOTSTRAP_TIMEOUT",
    )
    # kafka-python alone waits 30 s; the setting asked for 1 (start-up on a busy machine aside).
    assert seconds < 25


def test_debug_shows_the_traceback_of_a_user_error() -> None:
    env = clean_env(KAFKA_BOOTSTRAP_SERVERS=closed_address(), DIPWIRE_BOOTSTRAP_TIMEOUT="1")
    done, _ = dipwire("tail", "--debug", env=env)
    assert done.returncode == Exit.BROKER
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-2].startswith("dipwire: no Kafka answered")
    level, _ = dipwire("tail", env={**env, "DIPWIRE_LOG_LEVEL": "DEBUG"})
    assert level.returncode == Exit.BROKER and "Traceback" in level.stderr


def test_an_unset_broker_says_how_to_get_one() -> None:
    done, _ = dipwire("tail", env=clean_env())
    assert_user_error(done, Exit.USAGE, "KAFKA_BOOTSTRAP_SERVERS is not set", "dipwire broker")


def test_a_missing_file_and_a_binary_text_file(broker: BrokerHandle, tmp_path: Path) -> None:
    env = clean_env(**{k: v for k, v in broker.env().items() if k.startswith(("DIPWIRE", "KAFKA"))})
    missing = tmp_path / "nowhere.jsonl"
    done, _ = dipwire("ingest", str(missing), env=env)
    assert_user_error(done, Exit.USAGE, f"{missing}: no such file or folder")
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    done, _ = dipwire("ingest", str(binary), env=env)
    # `dipwire ingest` warns about each file it cannot read and ends with a summary.
    assert done.returncode == Exit.USAGE, done.stderr
    assert f"{binary}: 1 not read as article(s)" in done.stderr and "not UTF-8" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("dipwire: no article published")


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        (
            "DIPWIRE_PARTITIONS",
            "many",
            "DIPWIRE_PARTITIONS='many': Input should be a valid integer",
        ),
        ("DIPWIRE_LOG_LEVEL", "bogus", "DIPWIRE_LOG_LEVEL='bogus': Input should be 'DEBUG'"),
        ("DIPWIRE_LOG_FORMAT", "xml", "DIPWIRE_LOG_FORMAT='xml': Input should be 'text' or"),
        ("DIPWIRE_KAFKA_SECURITY_PROTOCOL", "TLS", "DIPWIRE_KAFKA_SECURITY_PROTOCOL='TLS'"),
    ],
)
def test_a_bad_environment_value_names_the_variable(variable: str, value: str, needle: str) -> None:
    done, _ = dipwire("worker", env=clean_env(**{variable: value}))
    assert_user_error(done, Exit.USAGE, needle, "README's Configuration table")
    assert "CANNOT SETUP LOGGING" not in done.stderr
    assert "pydantic" not in done.stderr


def test_a_bad_flag_value_names_the_flag() -> None:
    done, _ = dipwire("worker", "--web-port", "high", "--partitions", "0", env=clean_env())
    assert done.returncode == Exit.USAGE
    assert "--web-port='high': Input should be a valid integer" in done.stderr
    assert "--partitions='0': Input should be greater than or equal to 1" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 3


def test_a_second_worker_on_a_taken_port_names_the_setting(broker: BrokerHandle) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = clean_env(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, DIPWIRE_WEB_PORT=str(port))
        done, _ = dipwire("worker", env=env)
    assert_user_error(
        done, Exit.USAGE, f"127.0.0.1:{port} is already in use", "set DIPWIRE_WEB_PORT"
    )
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = clean_env(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap)
        done, _ = dipwire("worker", "--web-port", str(port), env=env)
    assert_user_error(done, Exit.USAGE, f"127.0.0.1:{port} is already in use", "--web-port")
