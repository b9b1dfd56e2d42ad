"""Running the real ``dipwire`` command against the session broker, with a topic prefix."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition

from pipeline.broker.quirks import true_end_offsets
from pipeline.settings import Settings
from pipeline.topics import TopicNames
from tests.integration.conftest import BrokerHandle


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """The CLI bound to one broker and one topic prefix."""

    broker: BrokerHandle
    prefix: str

    @classmethod
    def fresh(cls, broker: BrokerHandle, partitions: int = 4) -> Cli:
        """A CLI with its own prefix, every pipeline topic created."""
        cli = cls(broker, f"cli-{uuid.uuid4().hex[:8]}.")
        broker.create_topics(list(cli.names.all()), partitions)
        return cli

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap_servers=self.broker.bootstrap,
            embedded_broker=self.broker.embedded,
            topic_prefix=self.prefix,
        )

    @property
    def names(self) -> TopicNames:
        return TopicNames.from_settings(self.settings)

    def env(self) -> dict[str, str]:
        env = self.broker.env()
        env["DIPWIRE_TOPIC_PREFIX"] = self.prefix
        return env

    def run(self, *args: str, stdin: bytes | None = None, timeout: float = 120) -> Result:
        """``python -m pipeline ARGS``; its exit code, stdout and stderr."""
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            env=self.env(),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
        )
        return Result(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def count(self, topic: str, partitions: int = 4) -> int:
        """Records on ``topic`` (its true end offsets added up)."""
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = true_end_offsets(self.broker.bootstrap, tps, self.broker.client_kwargs)
        return sum(ends.values())


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
