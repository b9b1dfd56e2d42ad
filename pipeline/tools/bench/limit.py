"""The limit: the in-process NLP chain the stages call, with no broker, no JSON and no Faust."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from pipeline.settings import Settings
from pipeline.tools.bench.articles import tagged
from pipeline.tools.bench.errors import BenchError


def load_analyzer(settings: Settings) -> Any:
    """Load the analyzer the worker would load, and say how long it took."""
    from pipeline.nlp import Analyzer, NlpConfig

    started = time.perf_counter()
    analyzer = Analyzer.load(NlpConfig.from_settings(settings))
    print(f"bench: NLP loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return analyzer


def measure_limit(
    analyzer: Any, settings: Settings, articles: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Time the NLP chain over the validated articles, batched as the stages batch them."""
    from pipeline import __version__

    valid = valid_articles(settings, articles)
    # One warm-up batch: the first call of each model allocates its buffers.
    _chain(analyzer, valid[: settings.batch_size], settings.batch_size, __version__)
    started = time.perf_counter()
    cpu = time.process_time()
    events = _chain(analyzer, valid, settings.batch_size, __version__)
    seconds = time.perf_counter() - started
    cpu_used = time.process_time() - cpu
    words = sum(len(a.body.split()) for a in valid)
    return {
        "articles": len(valid),
        "words": words,
        "events": events,
        "seconds": seconds,
        "cpu_seconds": cpu_used,
        "articles_per_s": len(valid) / seconds,
        "articles_per_cpu_s": len(valid) / max(cpu_used, 1e-9),
        "words_per_s": words / seconds,
    }


def valid_articles(settings: Settings, articles: Sequence[dict[str, Any]]) -> list[Any]:
    """The articles the validate stage would pass, as :class:`~pipeline.models.Article`."""
    from pipeline.codec import Rejected, decode_article
    from pipeline.models import Article, utcnow

    now = utcnow()
    valid: list[Article] = []
    for _, message in tagged(articles, "limit"):
        article = decode_article(
            message,
            max_message_bytes=min(settings.max_input_bytes, settings.max_message_bytes),
            max_body_bytes=settings.max_body_bytes,
            now=now,
        )
        if not isinstance(article, Rejected):
            valid.append(article)
    if not valid:
        raise BenchError("no article passed validation; nothing to measure")
    return valid


def _chain(analyzer: Any, articles: Sequence[Any], batch_size: int, version: str) -> int:
    from pipeline.models import utcnow

    events = 0
    for start in range(0, len(articles), batch_size):
        batch = articles[start : start + batch_size]
        enriched = analyzer.enrich(analyzer.annotate(batch))
        now = utcnow()
        for item in enriched:
            events += len(analyzer.code(item, pipeline_version=version, emitted_at=now))
    return events


def measure_side_by_side(
    settings: Settings, articles: Sequence[dict[str, Any]], copies: int
) -> dict[str, Any]:
    """The limit in ``copies`` processes at once: what the machine's cores parse together.

    Each process loads its own analyzer and waits for the others before it
    starts, so the copies run over the same articles side by side; this is the
    ceiling of any layout of the NLP on this machine (shared caches and memory
    bandwidth make a core slower when its neighbour is busy), beside which the
    pipeline's plumbing is measured.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(copies)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_copy, args=(settings, list(articles), barrier, results))
        for _ in range(copies)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=3600) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    rates = [o["articles_per_s"] for o in outcomes]
    return {
        "copies": copies,
        "articles_per_s": sum(rates),
        "per_copy": rates,
        "cpu_ms_per_article": [1000 * o["cpu_seconds"] / o["articles"] for o in outcomes],
    }


def _copy(settings: Settings, articles: list[dict[str, Any]], barrier: Any, results: Any) -> None:
    from pipeline.nlp import Analyzer, NlpConfig

    analyzer = Analyzer.load(NlpConfig.from_settings(settings))
    barrier.wait()
    results.put(measure_limit(analyzer, settings, articles))
