"""Headers of published messages, and the schema-evolution policy that readers ignore new fields."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipeline import headers
from pipeline.codec import Rejected, dead_letter, encode
from pipeline.models import MESSAGE_MODELS, SCHEMA_MINOR, SCHEMA_VERSION, DiplomaticEvent
from pipeline.testing import (
    NOW,
    RAW_ORIGIN,
    annotated,
    article,
    article_coded,
    diplomatic_event,
    enriched,
)

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _letter(article_id: str | None) -> object:
    return dead_letter(b"{", RAW_ORIGIN, "validate", Rejected("not_json", "no", article_id), NOW)


@pytest.mark.parametrize(
    ("message", "schema", "article_id"),
    [
        (article("a7"), "article", "a7"),
        (annotated(article("a7")), "annotated_article", "a7"),
        (enriched(article("a7")), "enriched_article", "a7"),
        (diplomatic_event("e1", "a7"), "diplomatic_event", "a7"),
        (article_coded("a7", "e1"), "article_coded", "a7"),
        (_letter("a7"), "dead_letter", "a7"),
    ],
)
def test_every_message_gets_its_schema_version_content_type_and_article(
    message: object, schema: str, article_id: str
) -> None:
    sent = headers.output_headers(message)  # type: ignore[arg-type]
    assert headers.decode_headers(sent) == {
        "dipwire-schema": schema,
        "dipwire-schema-version": f"{SCHEMA_VERSION}.{SCHEMA_MINOR}",
        "content-type": "application/json",
        "dipwire-article-id": article_id,
    }
    assert (SCHEMAS / f"{schema}.schema.json").is_file()
    assert all(isinstance(value, bytes) for _, value in sent)


def test_a_dead_letter_without_a_readable_id_has_no_article_header() -> None:
    names = [name for name, _ in headers.output_headers(_letter(None))]  # type: ignore[arg-type]
    assert headers.ARTICLE_ID not in names
    assert names[:3] == [headers.SCHEMA, headers.SCHEMA_VERSION_HEADER, headers.CONTENT_TYPE]


def test_every_message_model_has_a_schema_name() -> None:
    assert {headers._SCHEMA_NAMES[model] for model in MESSAGE_MODELS.values()} == set(
        MESSAGE_MODELS
    )


def test_a_field_from_a_newer_minor_version_is_ignored_by_the_model_and_the_schema() -> None:
    event = json.loads(encode(diplomatic_event("e1", "a1")))
    event["added_in_a_later_minor"] = {"anything": 1}
    event["source_actor"]["also_new"] = "x"
    read = DiplomaticEvent.model_validate_json(json.dumps(event))
    assert read.event_id == "e1"
    assert "added_in_a_later_minor" not in read.model_dump()
    schema = json.loads((SCHEMAS / "diplomatic_event.schema.json").read_text())
    jsonschema.validate(event, schema)
    # Ignoring unknown fields is not accepting anything: a missing field still fails.
    del event["cameo_code"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, schema)


def test_no_published_schema_forbids_additional_properties() -> None:
    for path in SCHEMAS.glob("*.schema.json"):
        text = path.read_text()
        assert '"additionalProperties": false' not in text, path.name
        assert f"dipwire schema {SCHEMA_VERSION}.{SCHEMA_MINOR}" in json.loads(text)["$comment"]
