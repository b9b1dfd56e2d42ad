"""Articles into the pipeline: read article files, publish them to ``articles.raw``.

``dipwire ingest`` and ``dipwire demo`` publish with :func:`publish`; the
benchmark reads the seed articles with :func:`read_articles` too.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from pipeline.errors import PipelineError
from pipeline.settings import Settings
from pipeline.topics import TopicNames

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
"""The sample articles of ``dipwire demo`` and ``dipwire bench``."""

ARTICLE_SUFFIXES = frozenset({".json", ".jsonl", ".txt"})
"""The files of a folder that are read as articles; anything else (a README) is not."""


def read_articles(paths: Iterable[str | Path]) -> Iterator[tuple[bytes | None, bytes]]:
    """Yield ``(key, message)`` for every article in ``paths`` (``-`` reads JSON lines on stdin).

    JSON goes out as the bytes given, so the pipeline (not this command) judges
    it; it is keyed by its ``id`` when one can be read. A ``.txt`` file becomes
    an article whose id is a hash of its content, its first line the title.

    Raises:
        PipelineError: A path is neither a folder nor a file of a known kind.
    """
    for name in paths:
        if name == "-":
            yield from _json_lines(sys.stdin.buffer)
            continue
        path = Path(name)
        if path.is_dir():
            yield from read_articles(
                sorted(p for p in path.iterdir() if p.suffix in ARTICLE_SUFFIXES)
            )
        elif path.suffix == ".jsonl":
            with path.open("rb") as handle:
                yield from _json_lines(handle)
        elif path.suffix == ".json":
            yield _keyed(path.read_bytes().strip())
        elif path.suffix == ".txt":
            yield _text_article(path)
        else:
            raise PipelineError(f"{path}: expected a .txt, .json or .jsonl file, or a folder")


def _json_lines(lines: Iterable[bytes]) -> Iterator[tuple[bytes | None, bytes]]:
    for line in lines:
        if line.strip():
            yield _keyed(line.strip())


def _text_article(path: Path) -> tuple[bytes, bytes]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    title, _, body = text.strip().partition("\n")
    article_id = "txt-" + hashlib.sha256(text.encode()).hexdigest()[:24]
    message = {"id": article_id, "title": title.strip(), "body": body.strip() or title}
    message["source"] = path.name
    return article_id.encode(), orjson.dumps(message)


def _keyed(message: bytes) -> tuple[bytes | None, bytes]:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None, message
    article_id = data.get("id") if isinstance(data, dict) else None
    return (article_id.encode() if isinstance(article_id, str) else None), message


def publish(settings: Settings, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Publish messages to the raw topic, wait for every ack, return how many were sent."""
    from tqdm import tqdm

    from pipeline.broker.clients import open_producer

    producer = open_producer(settings)
    topic = TopicNames.from_settings(settings).raw
    futures = []
    try:
        for key, value in tqdm(messages, desc="publish", unit="article", file=sys.stderr):
            futures.append(producer.send(topic, key=key, value=value))
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()
    return len(futures)
