"""Read what a :class:`~pipeline.inputs.plan.Plan` lists; count and report what is no article.

Each file's unreadable lines, entries or items are counted in the
:class:`Tally` and named in one warning per file (the first few with their
line or entry and why); they are sent nowhere.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from pipeline.inputs.articles import (
    Item,
    Unreadable,
    json_document,
    json_lines,
    text_article,
)
from pipeline.inputs.feeds import feed_articles
from pipeline.inputs.newsml import kind_of, newsml_articles, nitf_articles, parse_xml
from pipeline.inputs.plan import Plan, Source

log = logging.getLogger("dipwire.ingest")

SHOWN_PER_FILE = 3
"""Unreadable items named in a file's warning; the rest are counted."""


@dataclass
class Tally:
    """What an ingest read: articles by format, files, and what it could not read."""

    articles: Counter[str] = field(default_factory=Counter)
    files: int = 0
    unreadable: int = 0
    unreadable_files: int = 0

    @property
    def total(self) -> int:
        """Articles read."""
        return sum(self.articles.values())


def read(plan: Plan, tally: Tally | None = None) -> Iterator[tuple[bytes, bytes]]:
    """``(key, message)`` for every article of every source of ``plan``, counted in ``tally``."""
    tally = tally if tally is not None else Tally()
    for source in plan.sources:
        tally.files += 1
        problems: list[Unreadable] = []
        for fmt, item in _items(source):
            if isinstance(item, Unreadable):
                problems.append(item)
            else:
                tally.articles[fmt] += 1
                yield item
        if problems:
            tally.unreadable += len(problems)
            tally.unreadable_files += 1
            _warn(source, problems)


def _warn(source: Source, problems: list[Unreadable]) -> None:
    shown = "; ".join(f"{p.where}: {p.reason}" for p in problems[:SHOWN_PER_FILE])
    more = f" (+{len(problems) - SHOWN_PER_FILE} more)" if len(problems) > SHOWN_PER_FILE else ""
    name = "stdin" if source.path is None else source.name
    log.warning(
        "%s: %d not read as article(s), sent nowhere: %s%s", name, len(problems), shown, more
    )


def _items(source: Source) -> Iterator[tuple[str, Item]]:
    """``(format, item)`` for each article or unreadable part of ``source``."""
    if source.path is None:
        yield from _stdin(sys.stdin.buffer)
        return
    try:
        if source.kind == "jsonl":
            with source.path.open("rb") as handle:
                yield from (("jsonl", item) for item in json_lines(handle))
            return
        content = source.path.read_bytes()
    except OSError as exc:
        yield source.kind, Unreadable("file", f"cannot be read ({exc.strerror or exc})")
        return
    if source.kind == "json":
        yield from (("json", item) for item in json_document(content))
    elif source.kind == "text":
        yield "text", text_article(content, source.path.name)
    else:
        yield from xml_items(content)


def xml_items(content: bytes) -> Iterator[tuple[str, Item]]:
    """The articles of an XML document: a feed, a NITF or a NewsML-G2 file."""
    try:
        root = parse_xml(content)
    except etree.XMLSyntaxError as exc:
        # Feeds on the web are often not well-formed; feedparser reads what it can.
        yield from (("feed", item) for item in feed_articles(content))
        log.debug("not well-formed XML (%s); read as a feed", exc)
        return
    kind = kind_of(root)
    if kind == "feed":
        yield from (("feed", item) for item in feed_articles(content))
    elif kind == "nitf":
        yield from (("nitf", item) for item in nitf_articles(root))
    elif kind == "newsml":
        yield from (("newsml", item) for item in newsml_articles(root))
    else:
        name = etree.QName(root).localname
        yield "xml", Unreadable("file", f"XML <{name}> is no RSS/Atom feed, NITF or NewsML-G2")


def _stdin(stream: BinaryIO) -> Iterator[tuple[str, Item]]:
    """JSON lines, streamed; or one XML document when the first non-blank line starts with <."""
    number = 0
    for line in stream:
        number += 1
        if not line.strip():
            continue
        if line.lstrip().startswith(b"<"):
            yield from xml_items(line + stream.read())
            return
        yield from (("jsonl", item) for item in json_lines([line], first=number))
        yield from (("jsonl", item) for item in json_lines(stream, first=number + 1))
        return
