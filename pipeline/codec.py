"""Bytes <-> models. Anything that cannot become a valid ``Article`` becomes a ``DeadLetter``.

The validate stage calls :func:`decode_article`; every later stage calls
:func:`decode` with the model its input topic carries. Neither raises on bad
input: they return a :class:`Rejected` with a specific error kind and a
readable reason, which the stage turns into a dead-letter record.

Normalisation decisions (documented in the README):
- HTML markup in the body is stripped to its text (entities resolved); the
  article is coded, not dead-lettered, because wire feeds often carry markup.
- Control characters other than newline and tab are removed.
- Line endings become newlines; runs of spaces and tabs become one space; three
  or more newlines become two (paragraph breaks survive).
- A declared language other than English is dead-lettered
  (``unsupported_language``): the NLP models are English-only, and the
  dead-letter topic keeps the article for a pipeline that can read it.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from pipeline.models import MAX_ID_LENGTH, Article, DeadLetter

M = TypeVar("M", bound=BaseModel)

DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024
"""Bytes of an oversized payload kept in its dead letter (the rest is dropped and flagged)."""

MAX_JSON_DEPTH = 64
"""Deeper JSON is refused before validation; no article needs more than a few levels."""

ENGLISH = frozenset({"en", "eng", "english"})


@dataclass(frozen=True)
class Rejected:
    """Why a message could not be read; becomes a ``DeadLetter``."""

    kind: str
    reason: str
    article_id: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where a message came from, for its dead letter."""

    topic: str
    partition: int | None = None
    offset: int | None = None


def encode(model: BaseModel) -> bytes:
    """Serialise a message model to JSON bytes."""
    return model.model_dump_json().encode()


def decode(raw: bytes, model: type[M]) -> M | Rejected:
    """Parse the JSON message of an internal topic into ``model``."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        return Rejected("invalid_message", _describe(exc))


def dead_letter(
    raw: bytes, origin: Origin, stage: str, rejected: Rejected, now: datetime
) -> DeadLetter:
    """Build the dead-letter record for ``raw``; keeps at most 64 KiB of an oversized payload."""
    kept = raw[:DEAD_LETTER_PAYLOAD_LIMIT]
    return DeadLetter(
        article_id=rejected.article_id,
        payload_b64=base64.b64encode(kept).decode("ascii"),
        payload_size=len(raw),
        payload_truncated=len(kept) < len(raw),
        topic=origin.topic,
        partition=origin.partition,
        offset=origin.offset,
        stage=stage,
        error_kind=rejected.kind,
        reason=rejected.reason,
        failed_at=now,
    )


def decode_article(
    raw: bytes, *, max_message_bytes: int, max_body_bytes: int, now: datetime
) -> Article | Rejected:
    """Validate and normalise one raw wire message into an ``Article`` stamped with ``now``."""
    if len(raw) > max_message_bytes:
        return Rejected(
            "message_too_large",
            f"message is {len(raw):,} bytes; the limit is {max_message_bytes:,}",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected("not_utf8", f"message is not valid UTF-8: {exc.reason} at byte {exc.start}")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        kind = "too_deep" if "recursion" in str(exc).lower() else "not_json"
        return Rejected(kind, f"message is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Rejected("not_object", f"message is JSON {type(data).__name__}, not an object")
    article_id = _peek_id(data)
    if _depth(data) > MAX_JSON_DEPTH:
        return Rejected("too_deep", f"JSON nests deeper than {MAX_JSON_DEPTH} levels", article_id)
    try:
        article = Article.model_validate(data)
    except ValidationError as exc:
        return Rejected("invalid_fields", _describe(exc), article_id)
    if article.language.strip().lower() not in ENGLISH:
        return Rejected(
            "unsupported_language",
            f"language {article.language!r} is not supported; only English is coded",
            article.id,
        )
    body = normalise_text(article.body)
    if not body:
        return Rejected("empty_body", "body is empty or whitespace only", article.id)
    size = len(body.encode("utf-8"))
    if size > max_body_bytes:
        return Rejected(
            "body_too_large",
            f"body is {size:,} bytes after normalisation; the limit is {max_body_bytes:,}",
            article.id,
        )
    return article.model_copy(
        update={
            "body": body,
            "title": normalise_text(article.title),
            "received_at": now,
        }
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")


def normalise_text(text: str) -> str:
    """Return ``text`` as plain, NFC-normalised text with tidy whitespace."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _TAG.search(text):
        text = strip_html(text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block elements become paragraph breaks."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Return the text content of an HTML fragment."""
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))


def _peek_id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return value[:MAX_ID_LENGTH] if isinstance(value, str) and value else None


def _depth(value: object) -> int:
    """Nesting depth of decoded JSON, without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _describe(exc: ValidationError) -> str:
    """One line per problem: ``field: message``, at most five."""
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)
    ]
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return "; ".join(problems[:5]) + more
