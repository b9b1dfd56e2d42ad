"""``dipwire ingest`` as a person runs it: a folder of mixed files, garbage, missing paths."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.integration.cli import Cli
from tests.integration.conftest import BrokerHandle, KafkaClients

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def cli(broker: BrokerHandle) -> Iterator[Cli]:
    yield Cli.fresh(broker)


def _folder(root: Path) -> Path:
    folder = root / "wire"
    (folder / "feeds" / "2023").mkdir(parents=True)
    for name in ("rss.xml", "atom.xml"):
        shutil.copy(SAMPLES / name, folder / "feeds" / "2023" / name)
    (folder / "agency").mkdir()
    shutil.copy(SAMPLES / "nitf.xml", folder / "agency" / "kenya.nitf")
    shutil.copy(SAMPLES / "newsml-g2.xml", folder / "agency" / "g2.xml")
    (folder / "dump.jsonl").write_bytes(
        b'{"id": "j-1", "body": "Leaders met in Geneva."}\n'
        b"this line is no JSON\n"
        b'{"id": "j-2", "body": "Envoys met in Oslo."}\n'
        b'{"body": "no id"}\n'
    )
    (folder / "binary.jsonl").write_bytes(bytes(range(256)) * 8)  # 9 lines
    (folder / "note.txt").write_text("A headline\nA body of text.\n")
    (folder / "README.md").write_text("not an article")
    return folder


def test_a_folder_of_mixed_formats_publishes_only_articles(
    cli: Cli, kafka_clients: KafkaClients, tmp_path: Path
) -> None:
    result = cli.run("ingest", str(_folder(tmp_path)))
    assert result.returncode == 0, result.stderr
    # rss 1 + atom 1 + nitf 1 + newsml 1 + jsonl 2 + txt 1
    assert "published 7 article(s) to " + cli.names.raw in result.stderr
    assert "binary.jsonl: 9 not read as article(s), sent nowhere" in result.stderr
    assert "dump.jsonl: 2 not read as article(s)" in result.stderr
    assert "line 2: not JSON" in result.stderr
    assert "skipped 1 file(s) of other kinds" in result.stderr and "README.md" in result.stderr
    records = kafka_clients.read(cli.names.raw, count=7)
    assert cli.count(cli.names.raw) == 7
    keys = {r.key.decode() for r in records}
    (text_key,) = {k for k in keys if k.startswith("txt-")}
    assert keys - {text_key} == {
        "j-1",
        "j-2",
        "nitf-example-0042",
        "urn:example-atom:entry:7",
        "urn:example-wire:2023-10-10:1",
        "urn:newsml:example.org:20231013:brazil-argentina",
    }
    assert all(orjson.loads(r.value)["id"] == r.key.decode() for r in records)


def test_a_missing_path_publishes_nothing(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"id": "g", "body": "Leaders met."}')
    result = cli.run("ingest", str(good), str(tmp_path / "missing.jsonl"))
    assert result.returncode != 0
    assert "missing.jsonl: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli.count(cli.names.raw) == 0


def test_nothing_to_publish_is_a_failure(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "binary.jsonl").write_bytes(bytes(range(256)) * 4)
    result = cli.run("ingest", str(tmp_path / "binary.jsonl"))
    assert result.returncode != 0
    assert "published 0 article(s)" in result.stderr
    assert "no article published" in result.stderr
    assert cli.count(cli.names.raw) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.run("ingest", str(empty)).returncode != 0


def test_a_saved_feed_can_be_piped_in(cli: Cli) -> None:
    result = cli.run("ingest", "-", stdin=(SAMPLES / "atom.xml").read_bytes())
    assert result.returncode == 0, result.stderr
    assert "published 1 article(s)" in result.stderr
    assert cli.count(cli.names.raw) == 1
