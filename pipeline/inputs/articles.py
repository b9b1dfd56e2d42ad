"""One article message: checked against the ``Article`` model, keyed by its id.

JSON goes out as the bytes given, so the validate stage normalises it and
judges what only it can (language, size, duplicates); what cannot be an
article at all (not UTF-8, not JSON, not an object, no string ``id`` or
``body``) is refused here with a reason and sent nowhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from pipeline.models import MAX_ID_LENGTH, Article


@dataclass(frozen=True)
class Unreadable:
    """Something of a file that is not an article: where it is (``line 3``) and why."""

    where: str
    reason: str


Item = tuple[bytes, bytes] | Unreadable
"""A ``(key, message)`` to publish, or what could not be read."""


def check(message: bytes, where: str) -> Item:
    """``(id, message)`` when ``message`` is an article, else why not."""
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        reason = "not UTF-8" if "utf-8" in str(exc).lower() else "not JSON"
        return Unreadable(where, reason)
    return check_object(data, where, message)


def check_object(data: Any, where: str, message: bytes | None = None) -> Item:
    """``(id, message)`` when ``data`` is an article object, else why not."""
    if not isinstance(data, dict):
        return Unreadable(where, f"JSON {type(data).__name__}, not an object")
    try:
        article = Article.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "message"
        return Unreadable(where, f"{field}: {first['msg']}")
    return article.id.encode(), message if message is not None else orjson.dumps(data)


def json_lines(lines: Iterable[bytes], first: int = 1) -> Iterator[Item]:
    """Each non-blank line as an article; numbered from ``first``."""
    for number, line in enumerate(lines, start=first):
        if line.strip():
            yield check(line.strip(), f"line {number}")


def json_document(content: bytes) -> Iterator[Item]:
    """A ``.json`` file: one article object, or an array of them."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        reason = "not UTF-8" if "utf-8" in str(exc).lower() else f"not JSON ({exc})"
        yield Unreadable("file", reason)
        return
    if isinstance(data, list):
        for number, item in enumerate(data):
            yield check_object(item, f"item {number}")
    else:
        yield check_object(data, "file", content.strip())


def text_article(content: bytes, name: str) -> Item:
    """A ``.txt`` file: its first line the title, the rest the body, its id a content hash."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unreadable("file", f"not UTF-8 (byte {exc.start})")
    title, _, body = text.strip().partition("\n")
    if not title.strip():
        return Unreadable("file", "empty")
    article_id = "txt-" + hashlib.sha256(text.encode()).hexdigest()[:24]
    message = {"id": article_id, "title": title.strip(), "body": body.strip() or title}
    message["source"] = name
    return article_id.encode(), orjson.dumps(message)


def stable_id(prefix: str, candidate: str | None, *content: str) -> str:
    """``candidate`` when it fits an article id, else ``prefix`` + a hash of it or ``content``."""
    if candidate and candidate.strip() and len(candidate.strip()) <= MAX_ID_LENGTH:
        return candidate.strip()
    seed = candidate or "\n".join(content)
    return f"{prefix}-" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def language(tag: str | None) -> str | None:
    """The primary subtag of a language tag (``en-US`` -> ``en``), or None."""
    if not tag or not tag.strip():
        return None
    return tag.strip().replace("_", "-").split("-")[0].lower()
