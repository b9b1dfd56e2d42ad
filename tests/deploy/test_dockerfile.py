"""deploy/Dockerfile: linted by hadolint, parsed by BuildKit's parser (dockerfile)."""

from __future__ import annotations

import re
from pathlib import Path

import dockerfile
import pytest

from pipeline.settings import Settings
from tests.deploy.artefacts import (
    DOCKERFILE,
    REPO,
    dockerfile_stages,
    run,
    settings_env_names,
    tool,
)

pytestmark = pytest.mark.deploy


def test_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint"), "--no-color", str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def test_dockerfile_is_multi_stage_slim_and_unprivileged() -> None:
    commands = dockerfile.parse_file(str(DOCKERFILE))
    args = dict(c.value[0].split("=", 1) for c in commands if c.cmd == "ARG" and "=" in c.value[0])
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    base = final[0].value[0]
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
    assert "slim" in base
    (user,) = [c.value[0] for c in final if c.cmd == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    copies = [c for c in final if c.cmd == "COPY" and any(f.startswith("--from=") for f in c.flags)]
    assert copies, "the runtime stage copies the built virtualenv from the build stage"
    runs = " ".join(c.value[0] for stage in stages[:-1] for c in stage if c.cmd == "RUN")
    assert "spacy.load(" in runs, "the spaCy model is installed and loaded at build time"
    assert "Settings().spacy_model" in runs


def test_dockerfile_runs_the_worker_with_a_health_check() -> None:
    final = dockerfile_stages()[-1]
    by_cmd = {c.cmd: c for c in final}
    assert by_cmd["ENTRYPOINT"].value == ("dipwire",)
    assert by_cmd["CMD"].value == ("worker",)
    default_port = Settings.model_fields["web_port"].default
    assert by_cmd["EXPOSE"].value == (str(default_port),)
    health = by_cmd["HEALTHCHECK"]
    assert health.value[0] == "CMD"
    probe = " ".join(health.value[1:])
    assert "/healthz" in probe and "DIPWIRE_WEB_PORT" in probe and f"'{default_port}'" in probe
    env = [c.value for c in final if c.cmd == "ENV"]
    pairs = {v[i]: v[i + 1] for v in env for i in range(0, len(v), 2)}
    assert pairs["DIPWIRE_WEB_HOST"] == "0.0.0.0"
    assert pairs["DIPWIRE_WEB_PORT"] == str(default_port)
    assert set(pairs) - {"PATH"} <= {
        *settings_env_names(),
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
    }


def test_dockerfile_copies_only_what_the_context_keeps() -> None:
    ignore = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "the context starts empty; files are let in one by one"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd != "COPY" or any(f.startswith("--from=") for f in command.flags):
            continue
        for source in command.value[:-1]:
            assert source in allowed, f"COPY {source} is excluded by .dockerignore"
            assert (REPO / source).exists()
    assert ".venv" not in allowed
