"""The Kafka record headers of every message the pipeline publishes: names, values, one place.

A consumer can route and check a record without parsing its value: which
message it is, which schema version wrote it, how it is encoded and which
article it belongs to. Header names are constants here, so producers, tools
and tests never spell them twice; add a new header (a replay marker, say)
beside these and to the README's header table.

Values are UTF-8 bytes. A header whose value is unknown (the article id of a
dead letter that could not be read) is left out rather than sent empty.
"""

from __future__ import annotations

from pydantic import BaseModel

from pipeline.models import MESSAGE_MODELS, SCHEMA_MINOR, SCHEMA_VERSION, Article

SCHEMA = "dipwire-schema"
"""The message's schema name: the file ``schemas/<name>.schema.json`` (``diplomatic_event``)."""

SCHEMA_VERSION_HEADER = "dipwire-schema-version"
"""``MAJOR.MINOR`` of the schema (``4.0``); the payload's ``schema_version`` is the major."""

CONTENT_TYPE = "content-type"
"""How the value is encoded; always :data:`JSON`."""

ARTICLE_ID = "dipwire-article-id"
"""The id of the article the message belongs to (left out when it is not known)."""

JSON = "application/json"
"""The content type of every value the pipeline writes."""

SCHEMA_VERSION_TEXT = f"{SCHEMA_VERSION}.{SCHEMA_MINOR}"
"""The version every output carries in :data:`SCHEMA_VERSION_HEADER`."""

Headers = list[tuple[str, bytes]]
"""Kafka headers as the clients take them: (name, value) pairs, in order."""

_SCHEMA_NAMES: dict[type[BaseModel], str] = {model: name for name, model in MESSAGE_MODELS.items()}


def schema_name(value: BaseModel) -> str:
    """The schema name of a message model (its exact class: an enriched article is not annotated).

    Raises:
        KeyError: ``value`` is not one of the message models.
    """
    return _SCHEMA_NAMES[type(value)]


def article_id_of(value: BaseModel) -> str | None:
    """The id of the article a message belongs to, when it carries one."""
    if isinstance(value, Article):
        return value.id
    article = getattr(value, "article", None)
    if isinstance(article, Article):
        return article.id
    found = getattr(value, "article_id", None)
    return found if isinstance(found, str) and found else None


def output_headers(value: BaseModel) -> Headers:
    """The headers of one published message: schema, schema version, content type, article id."""
    headers: Headers = [
        (SCHEMA, schema_name(value).encode()),
        (SCHEMA_VERSION_HEADER, SCHEMA_VERSION_TEXT.encode()),
        (CONTENT_TYPE, JSON.encode()),
    ]
    article_id = article_id_of(value)
    if article_id is not None:
        headers.append((ARTICLE_ID, article_id.encode()))
    return headers


def decode_headers(headers: list[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Headers of a consumed record as text, by name (a repeated name keeps its last value)."""
    return {name: (value or b"").decode("utf-8", "replace") for name, value in headers or []}
