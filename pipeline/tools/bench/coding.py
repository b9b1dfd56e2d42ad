"""The code stage's share: CPU per article of parse, enrich and code, with and without verb files.

The articles are parsed and enriched once; the same enriched articles are then
coded by the worker's analyzer (the project's own lexicon and the configured
dictionaries) and, when verb dictionaries are given, by a second analyzer that
loads them too, side by side in one run. What loading the verb dictionaries
costs is timed on its own.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.settings import Settings


def measure_coding(
    analyzer: Any, settings: Settings, articles: Sequence[Any], verbs: Sequence[Path] = ()
) -> dict[str, Any]:
    """CPU seconds per article of each step, and the code stage's share of the parse."""
    from pipeline import __version__
    from pipeline.models import utcnow

    batch = settings.batch_size
    parse_cpu, enrich_cpu, enriched = 0.0, 0.0, []
    for start in range(0, len(articles), batch):
        cpu = time.process_time()
        annotated = analyzer.annotate(articles[start : start + batch])
        parse_cpu += time.process_time() - cpu
        cpu = time.process_time()
        enriched += analyzer.enrich(annotated)
        enrich_cpu += time.process_time() - cpu
    n = len(enriched)
    now = utcnow()
    report: dict[str, Any] = {
        "articles": n,
        "parse_cpu_ms": 1000 * parse_cpu / n,
        "enrich_cpu_ms": 1000 * enrich_cpu / n,
        "own": _code_all(analyzer, enriched, __version__, now),
    }
    if getattr(analyzer, "nlp", None) is not None:  # a stand-in analyzer has no Doc to rebuild
        report["rebuild_cpu_ms"] = _rebuild_ms(analyzer, enriched)
    _shares(report, report["own"])
    stats = getattr(analyzer, "prepass_stats", None)  # counted only with DIPWIRE_PARSE_PREPASS
    if stats is not None and stats.sentences:
        report["prepass"] = {
            "sentences": stats.sentences,
            "skipped_share": stats.skipped_sentences / stats.sentences,
            "recognised_token_share": stats.recognised_tokens / max(stats.tokens, 1),
        }
    if verbs:
        loaded, load_s = _with_verbs(analyzer, verbs)
        report["verb_dictionaries"] = [str(p) for p in verbs]
        report["verb_load_s"] = load_s
        report["with_verbs"] = _code_all(loaded, enriched, __version__, now)
        _shares(report, report["with_verbs"])
    return report


def _shares(report: dict[str, Any], row: dict[str, Any]) -> None:
    """The row's share of the parse, unchained (with the rebuild) and chained (without)."""
    row["share_of_parse"] = row["cpu_ms"] / report["parse_cpu_ms"]
    row["chained_cpu_ms"] = max(row["cpu_ms"] - report.get("rebuild_cpu_ms", 0.0), 0.0)
    row["chained_share_of_parse"] = row["chained_cpu_ms"] / report["parse_cpu_ms"]


def _rebuild_ms(analyzer: Any, enriched: Sequence[Any]) -> float:
    """CPU per article of rebuilding the ``Doc`` from the carried tokens, as the code stage does.

    A chained parse process codes the doc it parsed and skips this.
    """
    from pipeline.nlp.tokens import doc_from_tokens

    cpu = time.process_time()
    for item in enriched:
        with analyzer.nlp.memory_zone():
            doc_from_tokens(analyzer.nlp.vocab, item.tokens)
    return 1000 * (time.process_time() - cpu) / max(len(enriched), 1)


def _code_all(analyzer: Any, enriched: Sequence[Any], version: str, now: Any) -> dict[str, Any]:
    # A warm-up pass: the first sight of a verb builds its pattern index, once a
    # worker's life; the steady state is what a stream pays per article.
    for item in enriched:
        analyzer.code(item, pipeline_version=version, emitted_at=now)
    cpu = time.process_time()
    events = sum(
        len(analyzer.code(item, pipeline_version=version, emitted_at=now)) for item in enriched
    )
    used = time.process_time() - cpu
    return {"cpu_ms": 1000 * used / len(enriched), "events": events}


def _with_verbs(analyzer: Any, verbs: Sequence[Path]) -> tuple[Any, float]:
    """``analyzer`` coding with the own lexicon and ``verbs``; the CPU seconds the verbs took.

    Only the event coder differs, so the parse, actors and tone are shared.
    """
    from pipeline.nlp.events.coder import EventCoder
    from pipeline.nlp.events.dictionaries import extend_lexicon
    from pipeline.nlp.events.lexicon import Lexicon

    coder = analyzer.coder
    own = Lexicon.load(codebook=coder.codebook)
    cpu = time.process_time()
    lexicon = extend_lexicon(own, verbs, coder.codebook, strict=False)
    load_s = time.process_time() - cpu
    print(f"bench: verb dictionaries loaded in {load_s:.1f} s of CPU", file=sys.stderr)
    loaded = copy.copy(analyzer)
    loaded.coder = EventCoder(coder.codebook, lexicon, coder.confidence, coder.tone)
    return loaded, load_s


def format_coding(report: dict[str, Any]) -> str:
    """The table of the code stage's share."""
    lines = [
        f"code stage, CPU per article over {report['articles']} articles",
        f"  parse (spaCy, actors)        {report['parse_cpu_ms']:8.1f} ms",
        f"  enrich (topics, tone)        {report['enrich_cpu_ms']:8.1f} ms",
        _code_line("own lexicon", report["own"]),
    ]
    if "rebuild_cpu_ms" in report:
        lines.append(
            f"  of it, rebuilding the Doc    {report['rebuild_cpu_ms']:8.1f} ms  "
            "(unchained only: a chained parse process codes the doc it parsed)"
        )
    if "prepass" in report:
        pre = report["prepass"]
        lines.append(
            f"  entity pre-pass: {100 * pre['skipped_share']:.1f}% of {pre['sentences']} "
            f"sentences skipped, {100 * pre['recognised_token_share']:.1f}% of tokens recognised"
        )
    if "with_verbs" in report:
        lines.append(_code_line("+ reference verb files", report["with_verbs"]))
        lines.append(f"  loading the verb files       {report['verb_load_s']:8.1f} s")
    return "\n".join(lines)


def _code_line(label: str, row: dict[str, Any]) -> str:
    chained = row.get("chained_share_of_parse")
    return (
        f"  code, {label:<22} {row['cpu_ms']:8.1f} ms  "
        f"({100 * row['share_of_parse']:.1f}% of the parse"
        + (f", chained {100 * chained:.1f}%" if chained is not None else "")
        + f"; {row['events']} events)"
    )
