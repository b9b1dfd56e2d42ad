"""Reading article files for ``dipwire ingest``, ``demo`` and ``bench``."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.errors import PipelineError
from pipeline.ingest import SEEDS_DIR, read_articles

pytestmark = pytest.mark.unit


def test_a_folder_gives_its_json_jsonl_and_txt_articles_and_skips_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(orjson.dumps({"id": "a", "body": "One."}))
    (tmp_path / "b.jsonl").write_text('{"id": "b1", "body": "Two."}\n\n{"id": "b2", "body": "3"}\n')
    (tmp_path / "c.txt").write_text("A title\nThe body of c.\n")
    (tmp_path / "README.md").write_text("not an article")
    read = list(read_articles([tmp_path]))
    keys = [key for key, _ in read]
    assert keys[:3] == [b"a", b"b1", b"b2"]
    text_key, text_message = read[3]
    assert text_key is not None and text_key.startswith(b"txt-")
    assert orjson.loads(text_message) == {
        "id": text_key.decode(),
        "title": "A title",
        "body": "The body of c.",
        "source": "c.txt",
    }


def test_json_goes_out_as_given_and_is_keyed_only_when_it_has_a_string_id(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'{"id": 7, "body": "x"}\nnot json\n[1, 2]\n')
    assert list(read_articles([path])) == [
        (None, b'{"id": 7, "body": "x"}'),
        (None, b"not json"),
        (None, b"[1, 2]"),
    ]


def test_a_file_of_another_kind_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("id,body\n")
    with pytest.raises(PipelineError, match="notes.csv"):
        list(read_articles([path]))


def test_the_seed_folder_holds_articles_with_ids() -> None:
    keys = [key for key, _ in read_articles([SEEDS_DIR])]
    assert keys and all(keys)
