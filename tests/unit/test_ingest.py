"""Reading articles for ``dipwire ingest``, ``demo`` and ``bench``: paths, formats, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from pipeline.errors import PipelineError
from pipeline.ingest import SEEDS_DIR, read_articles
from pipeline.inputs import Tally, plan, read
from pipeline.inputs.reading import _stdin

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_a_folder_is_read_recursively_by_suffix_and_reports_what_it_skips(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(orjson.dumps({"id": "a", "body": "One."}))
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "b.jsonl").write_text(
        '{"id": "b1", "body": "Two."}\n\n{"id": "b2", "body": "3"}\n'
    )
    (tmp_path / "deep" / "c.txt").write_text("A title\nThe body of c.\n")
    (tmp_path / "README.md").write_text("not an article")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.json").write_text('{"id": "hidden", "body": "x"}')
    checked = plan([tmp_path])
    assert checked.skipped == (str(tmp_path / "README.md"),)
    read_ = list(read(checked))
    keys = [key for key, _ in read_]
    assert keys[0] == b"a"
    assert keys[1].startswith(b"txt-")  # deep/c.txt sorts before deep/er/b.jsonl
    assert keys[2:] == [b"b1", b"b2"]
    assert orjson.loads(read_[1][1]) == {
        "id": keys[1].decode(),
        "title": "A title",
        "body": "The body of c.",
        "source": "c.txt",
    }


def test_lines_that_are_no_articles_are_counted_and_sent_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(
        b'{"id": "ok", "body": "x"}\n{"id": 7, "body": "x"}\nnot json\n[1, 2]\n'
        b'{"id": "nobody"}\n\xff\xfe\x00garbage\n'
    )
    tally = Tally()
    assert list(read(plan([path]), tally)) == [(b"ok", b'{"id": "ok", "body": "x"}')]
    assert (tally.total, tally.unreadable, tally.unreadable_files) == (1, 5, 1)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "odd.jsonl: 5 not read as article(s)" in warning
    assert "line 2: id: Input should be a valid string" in warning
    assert "line 3: not JSON" in warning
    assert "(+2 more)" in warning


def test_a_binary_file_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_bytes(bytes(range(256)) * 40)
    tally = Tally()
    assert list(read(plan([path]), tally)) == []
    assert tally.unreadable > 0 and tally.total == 0


def test_every_path_is_checked_before_anything_is_read(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"id": "g", "body": "x"}')
    (tmp_path / "notes.csv").write_text("id,body\n")
    with pytest.raises(PipelineError) as caught:
        plan([good, tmp_path / "missing.json", tmp_path / "notes.csv", "https://x.org/feed"])
    message = str(caught.value)
    assert "missing.json: no such file or folder" in message
    assert "notes.csv: not a file of a known kind" in message
    assert "https://x.org/feed: a URL" in message
    assert "good.json" not in message


def test_read_articles_checks_the_paths_when_called(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="nope.json"):
        read_articles([tmp_path / "nope.json"])  # not iterated: the check is eager


def test_rss_and_atom_entries_become_articles() -> None:
    tally = Tally()
    found = {
        key.decode(): orjson.loads(value)
        for key, value in read(plan([SAMPLES / "rss.xml", SAMPLES / "atom.xml"]), tally)
    }
    assert found["urn:example-wire:2023-10-10:1"] == {
        "id": "urn:example-wire:2023-10-10:1",
        "title": "France and Germany sign a border accord",
        "body": "<p>France and Germany signed a border accord in Paris on Tuesday.</p>",
        "url": "https://wire.example.org/2023/10/10/accord",
        "source": "Example Wire",
        "published_at": "2023-10-10T12:00:00+00:00",
        "language": "en",
    }
    atom = found["urn:example-atom:entry:7"]
    assert atom["url"] == "https://atom.example.org/7"
    assert "Japan lodged a protest" in atom["body"]
    assert (tally.articles["feed"], tally.unreadable) == (2, 1)  # the entry without text


def test_nitf_becomes_an_article_with_its_dateline_and_date() -> None:
    ((key, value),) = read(plan([SAMPLES / "nitf.xml"]))
    article = orjson.loads(value)
    assert key == b"nitf-example-0042"
    assert article["title"] == "Kenya hosts talks with Somalia"
    assert article["body"].startswith("NAIROBI - Kenya's president hosted")
    assert article["body"].endswith("\n\nThe two leaders agreed to meet again next month.")
    assert article["published_at"] == "2023-10-12T08:15:00+00:00"
    assert (article["source"], article["language"]) == ("Example News Agency", "en")


def test_newsml_g2_items_become_articles() -> None:
    tally = Tally()
    ((key, value),) = read(plan([SAMPLES / "newsml-g2.xml"]), tally)
    article = orjson.loads(value)
    assert key == b"urn:newsml:example.org:20231013:brazil-argentina"
    assert article["title"] == "Brazil and Argentina agree on trade"
    assert article["body"] == (
        "Brazil and Argentina agreed on Friday to cut tariffs on steel.\n\n"
        "Ministers will meet in Buenos Aires in November."
    )
    assert article["published_at"] == "2023-10-13T09:00:00+00:00"
    assert article["source"] == "Example G2 Agency"
    assert tally.unreadable == 1  # the picture-only item


def test_xml_of_another_kind_and_external_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    (tmp_path / "other.xml").write_text("<catalog><book/></catalog>")
    (tmp_path / "xxe.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE nitf [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<nitf><head><docdata><doc-id id-string="x1"/></docdata></head>'
        "<body><body.content><p>Leaders met. &x;</p></body.content></body></nitf>"
    )
    tally = Tally()
    out = list(read(plan([tmp_path / "other.xml", tmp_path / "xxe.xml"]), tally))
    assert all(b"do not read me" not in value for _, value in out)
    assert tally.unreadable >= 1


def test_stdin_reads_json_lines_or_one_xml_document() -> None:
    lines = io.BytesIO(b'\n{"id": "s1", "body": "x"}\nbad\n{"id": "s2", "body": "y"}\n')
    items = [item for _, item in _stdin(lines)]
    assert [i[0] for i in items if isinstance(i, tuple)] == [b"s1", b"s2"]
    document = io.BytesIO((SAMPLES / "nitf.xml").read_bytes())
    assert [fmt for fmt, _ in _stdin(document)] == ["nitf"]


def test_the_seed_folder_holds_articles_with_ids() -> None:
    keys = [key for key, _ in read_articles([SEEDS_DIR])]
    assert keys and all(keys)
