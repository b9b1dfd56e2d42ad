"""Articles into the pipeline: read article files, publish them to ``articles.raw``.

``dipwire ingest`` and ``dipwire demo`` publish with :func:`publish`; the
benchmark reads the seed articles with :func:`read_articles` too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.inputs import Tally, plan, read
from pipeline.settings import Settings
from pipeline.topics import TopicNames

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
"""The sample articles of ``dipwire demo`` and ``dipwire bench``."""


def read_articles(
    paths: Iterable[str | Path], tally: Tally | None = None
) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, message)`` for every article in ``paths`` (``-`` reads standard input).

    Every path is checked first (:func:`pipeline.inputs.plan`); what is not an
    article is counted in ``tally``, warned about and left out. JSON goes out
    as the bytes given, keyed by its ``id``, so the pipeline normalises it.

    Raises:
        PipelineError: A path is missing, unreadable, or a file of an unknown kind.
    """
    return read(plan(paths), tally)


def publish(settings: Settings, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Publish messages to the raw topic, wait for every ack, return how many were sent."""
    from tqdm import tqdm

    from pipeline.broker.clients import Send, publish_all

    topic = TopicNames.from_settings(settings).raw

    def records() -> Iterator[Send]:
        # The bar starts with the first record, after the producer has reached the broker.
        for key, value in tqdm(messages, desc="publish", unit="article", file=sys.stderr):
            yield topic, key, value, None

    return publish_all(settings, records())
