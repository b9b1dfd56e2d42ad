"""Stage ``validate``: raw wire bytes -> normalised ``Article``, or a dead letter.

Duplicates: an article whose id was already seen is dropped and counted (its
first copy already has its terminal record). An article with a new id but the
same normalised body as an earlier one is dead-lettered as ``duplicate_body``,
so that its id still gets a terminal record and the audit reconciles.
The memory of seen articles is per worker process and bounded; producers key
``articles.raw`` by article id, so copies of one id meet on one partition.

Replays: a record with the ``REPLAY_HEADER`` (``dipwire replay`` sets it) passes the
id check once per replay token, so an article dead-lettered by a later stage (its id
already seen here) is coded again; a second copy of the same replay is dropped as a
duplicate id. Its own earlier body is no duplicate of it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.codec import Rejected, decode_article
from pipeline.stages.base import BatchResult, Output, Record, reject
from pipeline.topics import REPLAY_HEADER, Role, step

STEP = step("validate")


@dataclass
class Deduper:
    """Remembers the last ``capacity`` article ids and body hashes (LRU)."""

    capacity: int = 100_000
    _ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _bodies: OrderedDict[bytes, str] = field(default_factory=OrderedDict)
    _replays: OrderedDict[bytes, None] = field(default_factory=OrderedDict)

    def check(self, article_id: str, body: str, replay: bytes | None = None) -> str | None:
        """Return ``"id"`` or the earlier id with the same body, or None (and remember it).

        With a ``replay`` token an id already seen passes, once per token.
        """
        if self.capacity == 0:
            return None
        if replay is not None:
            if replay in self._replays:
                return "id"
        elif article_id in self._ids:
            self._ids.move_to_end(article_id)
            return "id"
        digest = hashlib.blake2b(body.encode(), digest_size=16).digest()
        earlier = self._bodies.get(digest)
        if earlier is not None and earlier != article_id:
            return earlier
        if replay is not None:
            self._remember(self._replays, replay, None)
        self._remember(self._ids, article_id, None)
        self._remember(self._bodies, digest, article_id)
        return None

    def _remember(self, table: OrderedDict, key: object, value: object) -> None:  # type: ignore[type-arg]
        table[key] = value
        if len(table) > self.capacity:
            table.popitem(last=False)


@dataclass
class ValidateStage:
    """Decode, validate, normalise and de-duplicate wire articles."""

    max_message_bytes: int
    max_body_bytes: int
    deduper: Deduper
    id: str = STEP.stage
    input_role: Role = STEP.reads
    output_roles: tuple[Role, ...] = STEP.writes

    def process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        """Turn each raw record into an ``Article``, a dead letter, or nothing (a duplicate)."""
        result = BatchResult()
        for record in records:
            article = decode_article(
                record.value,
                max_message_bytes=self.max_message_bytes,
                max_body_bytes=self.max_body_bytes,
                now=now,
            )
            if isinstance(article, Rejected):
                result.outputs.append(reject(record, self.id, article, now))
                continue
            seen = self.deduper.check(article.id, article.body, record.header(REPLAY_HEADER))
            if seen == "id":
                result.duplicates["id"] = result.duplicates.get("id", 0) + 1
            elif seen is not None:
                result.duplicates["body"] = result.duplicates.get("body", 0) + 1
                duplicate = Rejected(
                    "duplicate_body",
                    f"same normalised body as article {seen!r}; not coded twice",
                    article.id,
                )
                result.outputs.append(reject(record, self.id, duplicate, now))
            else:
                result.outputs.append(Output(STEP.carries, article.id.encode(), article))
        return result
