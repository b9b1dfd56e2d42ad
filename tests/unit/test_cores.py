"""The cores a worker may use: affinity, bounded by a cgroup CPU quota; ``auto`` parse processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.cores import cpu_quota, usable_cores
from pipeline.settings import MAX_AUTO_PROCESSES, Settings

pytestmark = pytest.mark.unit

AFFINITY = len(os.sched_getaffinity(0))


def _cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2.0),
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_the_cgroup_quota_in_cores(tmp_path: Path, files: dict[str, str], quota: float) -> None:
    assert cpu_quota(_cgroup(tmp_path, files)) == quota


def test_a_quota_bounds_the_cores_and_rounds_up(tmp_path: Path) -> None:
    assert usable_cores(_cgroup(tmp_path, {"cpu.max": "50000 100000"})) == 1
    assert usable_cores(_cgroup(tmp_path, {"cpu.max": "max 100000"})) == AFFINITY
    many = _cgroup(tmp_path / "many", {"cpu.max": f"{(AFFINITY + 4) * 100000} 100000"})
    assert usable_cores(many) == AFFINITY


def test_auto_parse_processes_follow_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPWIRE_NLP_PROCESSES", "AUTO")
    assert Settings().nlp_processes == "auto"
    monkeypatch.setattr("pipeline.settings.usable_cores", lambda: 3)
    assert Settings().parse_processes == 3
    monkeypatch.setattr("pipeline.settings.usable_cores", lambda: 64)
    assert Settings().parse_processes == MAX_AUTO_PROCESSES
    monkeypatch.setenv("DIPWIRE_NLP_PROCESSES", "0")
    assert Settings().parse_processes == 0 and not Settings().long_lane


@pytest.mark.parametrize("value", ["-1", "65", "two", "1.5"])
def test_a_bad_parse_process_count_names_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DIPWIRE_NLP_PROCESSES", value)
    with pytest.raises(ValueError, match="auto or a whole number from 0 to 64"):
        Settings()
