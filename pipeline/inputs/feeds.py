"""RSS and Atom feeds (a file a fetcher saved): each entry an article, parsed by feedparser.

An entry's id is its ``guid``/``id`` (else its link, else a hash of its
title and text), its body the entry's content (else its summary) as the feed
gives it: the validate stage strips the markup. The feed's title is the
source; ``published``/``updated`` the story date.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser

from pipeline.inputs.articles import Item, Unreadable, check_object, language, stable_id


def feed_articles(content: bytes) -> Iterator[Item]:
    """Each entry of the feed in ``content`` as an article.

    A document feedparser can make nothing of is one :class:`Unreadable`.
    """
    # A stream, never a string: feedparser would take a string for a URL or a file name.
    parsed = feedparser.parse(io.BytesIO(content))
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        reason = f"no feed entries ({problem})" if problem else "a feed without entries"
        yield Unreadable("file", reason)
        return
    feed = parsed.feed
    for number, entry in enumerate(parsed.entries, start=1):
        yield check_object(entry_article(entry, feed), f"entry {number}")


def entry_article(entry: Any, feed: Any) -> dict[str, Any]:
    """The article fields of one feed entry (``body`` missing when it has no text)."""
    title = str(entry.get("title", "")).strip()
    text = _text(entry)
    link = entry.get("link")
    article: dict[str, Any] = {
        "id": stable_id("feed", entry.get("id") or link, title, text or ""),
        "title": title,
    }
    if text:
        article["body"] = text
    if link:
        article["url"] = str(link)
    if feed.get("title"):
        article["source"] = str(feed["title"]).strip()
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if when:
        year, month, day, hour, minute, second = tuple(when)[:6]
        stamp = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        article["published_at"] = stamp.isoformat()
    lang = language(_content_language(entry) or feed.get("language"))
    if lang:
        article["language"] = lang
    return article


def _text(entry: Any) -> str | None:
    for content in entry.get("content") or ():
        value = str(content.get("value", "")).strip()
        if value:
            return value
    summary = str(entry.get("summary", "")).strip()
    return summary or None


def _content_language(entry: Any) -> str | None:
    for content in entry.get("content") or ():
        if content.get("language"):
            return str(content["language"])
    return None
