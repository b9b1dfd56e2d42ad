"""The articles a benchmark sends: a corpus's first lines, or the seeds repeated with new ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from pipeline.ingest import SEEDS_DIR, read_articles
from pipeline.tools.bench.errors import BenchError


def load_articles(corpus: Path | None, count: int) -> list[dict[str, Any]]:
    """The first ``count`` articles of ``corpus``, or the seeds repeated with distinct ids."""
    if corpus is not None:
        articles: list[dict[str, Any]] = []
        with corpus.open("rb") as handle:
            for line in handle:
                if len(articles) >= count:
                    break
                if line.strip():
                    articles.append(orjson.loads(line))
        if not articles:
            raise BenchError(f"{corpus} holds no articles")
        return articles
    seeds = read_seeds(SEEDS_DIR)
    if not seeds:
        raise BenchError(f"no seed articles in {SEEDS_DIR}")
    return repeat_articles(seeds, count)


def read_seeds(directory: Path) -> list[dict[str, Any]]:
    """Every article of the ``*.json``, ``*.jsonl`` and ``*.txt`` files in ``directory``."""
    return [orjson.loads(message) for _, message in read_articles([directory])]


def repeat_articles(seeds: Sequence[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` copies of ``seeds`` in turn, each with its own id."""
    return [
        {**seeds[i % len(seeds)], "id": f"{seeds[i % len(seeds)]['id']}-copy{i:06d}"}
        for i in range(count)
    ]


def tagged(articles: Iterable[dict[str, Any]], tag: str) -> list[tuple[str, bytes]]:
    """``(id, message)`` for each article with ``tag`` in its id, so phases never share ids."""
    out = []
    for article in articles:
        article_id = f"{article['id']}~{tag}"
        out.append((article_id, orjson.dumps({**article, "id": article_id})))
    return out


def word_count(article: Mapping[str, Any]) -> int:
    """Whitespace-separated words of the body."""
    body = article.get("body")
    return len(body.split()) if isinstance(body, str) else 0


def rss_window(requested: int, articles: int) -> int:
    """The RSS window: as asked, but at most half the articles so the two never overlap."""
    return max(1, min(requested, articles // 2))
