"""``dipwire bench`` as a command: its options, the runs, the report file and the table."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from pipeline.cores import usable_cores
from pipeline.settings import Settings
from pipeline.tools.bench.articles import load_articles, rss_window, word_count
from pipeline.tools.bench.coding import format_coding, measure_coding
from pipeline.tools.bench.limit import (
    load_analyzer,
    measure_limit,
    measure_side_by_side,
    valid_articles,
)
from pipeline.tools.bench.measure import measure_pipeline
from pipeline.tools.bench.report import format_table, load_text, machine_facts
from pipeline.tools.bench.stats import check_targets, median_of_runs

WORKER_SHORTHANDS = {"both": "1,2", "machine": "1,1x1,{cores}x1"}
"""Spellings of ``--workers`` that stand for a list of configurations."""


def cores() -> int:
    """The cores this process (and the workers it starts) may run on."""
    return usable_cores()


def worker_configs(spec: str) -> list[tuple[int, int | None]]:
    """``(workers, parse processes or None for the setting)`` for each item of ``--workers``.

    An item is ``W`` (W workers with the configured parse processes) or ``WxP`` (W workers
    with P parse processes each); ``both`` is ``1,2`` and ``machine`` is ``1,1x1,Cx1`` for the
    C cores of this machine (the default worker, one worker with one parse process, and C
    workers with one each).

    Raises:
        ValueError: an item is neither form, or a count is below 1 (P may be 0).
    """
    text = WORKER_SHORTHANDS.get(spec, spec).format(cores=cores())
    configs: list[tuple[int, int | None]] = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)(?:x(\d+))?\s*", item)
        if not match or int(match[1]) < 1:
            raise ValueError(
                f"--workers: {item!r} is not W or WxP (W >= 1 workers, P parse processes)"
            )
        configs.append((int(match[1]), None if match[2] is None else int(match[2])))
    return configs


def config_key(workers: int, processes: int | None) -> str:
    """The report's key of a configuration: ``"2"`` or ``"1x2"``."""
    return str(workers) if processes is None else f"{workers}x{processes}"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="JSONL file of articles (default: the seed articles, repeated with distinct ids)",
    )
    parser.add_argument(
        "--articles", type=int, default=200, help="articles per measurement (default 200)"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="configurations measured in each run, comma-separated: W workers, or WxP "
        "workers with P parse processes each; 'both' = 1,2 (and the scaling); 'machine' = "
        "1,1x1,Cx1 for C cores (default 1)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="publish the throughput phase at this many articles/s (default: all at once)",
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=None,
        help="articles/s of the latency phase (default: half the measured saturation)",
    )
    parser.add_argument(
        "--latency-articles",
        type=int,
        default=300,
        help="articles of the latency phase (default 300, at most --articles; 0 skips it)",
    )
    parser.add_argument("--runs", type=int, default=3, help="repeat and report medians (3)")
    _add_phase_options(parser)


def _add_phase_options(parser: argparse.ArgumentParser) -> None:
    """Options of the memory, limit and profiling phases, the time limit and the report."""
    parser.add_argument(
        "--rss-window",
        type=int,
        default=1000,
        help="articles in the first and last RSS windows (default 1000, at most half the run)",
    )
    parser.add_argument(
        "--skip-limit",
        action="store_true",
        help="measure only the pipeline (memory soaks); no limit, no ratio",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="also run the limit in one process per core at once: what the cores parse "
        "together, the ceiling of any layout on this machine",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds any one phase may take (600)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="folder for py-spy profiles of the workers during the first run's throughput "
        "phase (needs py-spy)",
    )
    parser.add_argument(
        "--verbs",
        type=Path,
        nargs="+",
        default=(),
        metavar="FILE",
        help="CAMEO verb dictionaries: also code the parsed articles with them loaded and "
        "report the code stage's CPU per article both ways, and their load time",
    )
    parser.add_argument(
        "--coding-only",
        action="store_true",
        help="measure only the CPU per article of parse, enrich and code (no broker)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results.json"),
        help="JSON report (default bench-results.json)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark, print the table, write the JSON report; returns the exit code."""
    if args.articles < 1 or args.runs < 1:
        print("dipwire bench: --articles and --runs must be at least 1", file=sys.stderr)
        return 2
    if args.corpus is not None and not args.corpus.is_file():
        print(f"dipwire bench: no such corpus file: {args.corpus}", file=sys.stderr)
        return 2
    try:
        configs = worker_configs(args.workers)
    except ValueError as error:
        print(f"dipwire bench: {error}", file=sys.stderr)
        return 2
    # The Kafka clients log every connection at INFO; the benchmark's own lines matter here.
    for name in ("kafka", "aiokafka", "pipeline.broker"):
        logging.getLogger(name).setLevel(logging.WARNING)
    articles = load_articles(args.corpus, args.articles)
    config = run_config(args, settings, articles)
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "config": config,
        "machine": machine_facts(settings.spacy_model),
        "runs": [],
    }
    parse = f"{settings.parse_processes} child process(es)" if settings.parse_processes else "it"
    print(
        f"bench: {len(articles)} articles ({config['source']}), {config['words']:,} words, "
        f"workers {args.workers} (each parses in {parse}), "
        f"{args.runs} run(s); load {load_text()}",
        file=sys.stderr,
    )
    for path in args.verbs:
        if not path.is_file():
            print(f"dipwire bench: no such verb dictionary: {path}", file=sys.stderr)
            return 2
    analyzer = None if args.skip_limit and not args.coding_only else load_analyzer(settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if analyzer is not None:
        print("bench: code stage's share (parse once, code both ways) ...", file=sys.stderr)
        coding = measure_coding(analyzer, settings, valid_articles(settings, articles), args.verbs)
        report["coding"] = coding
        _write(args.out, report)
        print(format_coding(coding), file=sys.stderr if not args.coding_only else sys.stdout)
        if args.coding_only:
            print(f"\nreport written to {args.out}", file=sys.stderr)
            return 0
    for number in range(1, args.runs + 1):
        outcome = run_once(number, args, settings, analyzer, articles, configs)
        report["runs"].append(outcome)
        report["median"] = median_of_runs(report["runs"])
        report["targets"] = check_targets(report["median"])
        report["finished_at"] = datetime.now(UTC).isoformat()
        report["load_end"] = list(os.getloadavg())
        # Written after every run, so a long benchmark that is stopped keeps its data.
        _write(args.out, report)
    print(format_table(report))
    print(f"\nreport written to {args.out}", file=sys.stderr)
    return 0


def _write(path: Path, report: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")


def run_config(
    args: argparse.Namespace, settings: Settings, articles: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """What was measured and how: the command, the articles, and the settings that matter."""
    return {
        "command": shlex.join(["dipwire", "bench", *sys.argv[2:]]),
        "corpus": str(args.corpus) if args.corpus else None,
        "source": args.corpus.name if args.corpus else "seeds (repeated, distinct ids)",
        "articles": len(articles),
        "words": sum(word_count(a) for a in articles),
        "workers": [config_key(*config) for config in worker_configs(args.workers)],
        "cores": cores(),
        "rate": args.rate,
        "latency_rate": args.latency_rate,
        "latency_articles": min(args.latency_articles, len(articles)),
        "runs": args.runs,
        "rss_window": rss_window(args.rss_window, len(articles)),
        "broker": "embedded" if settings.starts_broker else "external",
        "batch_size": settings.batch_size,
        "batch_within": settings.batch_within,
        "parse_chunk_bytes": settings.parse_chunk_bytes,
        "partitions": settings.partitions,
        "stream_buffer_maxsize": settings.stream_buffer_maxsize,
        "spacy_model": settings.spacy_model,
        "nlp_processes": settings.parse_processes,
        "chain_stages": settings.chain_stages,
        "long_article_bytes": settings.long_article_bytes if settings.long_lane else 0,
    }


def _limit(
    number: int, analyzer: Any, settings: Settings, articles: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    """The one-core limit of this run (None without an analyzer: ``--skip-limit``)."""
    if analyzer is None:
        return None
    print(f"bench: run {number}: limit (in-process NLP) ...", file=sys.stderr)
    limit = measure_limit(analyzer, settings, articles)
    print(
        f"bench: run {number}: limit {limit['articles_per_s']:.2f} articles/s "
        f"({limit['words_per_s']:,.0f} words/s); load {load_text()}",
        file=sys.stderr,
    )
    return limit


def _side_by_side(
    number: int, settings: Settings, articles: Sequence[dict[str, Any]], limit: dict[str, Any]
) -> dict[str, Any]:
    """The limit on every core at once, and what it is of cores x the one-core limit."""
    copies = cores()
    print(f"bench: run {number}: {copies} limits side by side ...", file=sys.stderr)
    side = measure_side_by_side(settings, articles, copies)
    side["of_machine"] = side["articles_per_s"] / (copies * limit["articles_per_s"])
    print(
        f"bench: run {number}: side by side {side['articles_per_s']:.2f} articles/s, "
        f"{side['of_machine']:.2f} of the machine",
        file=sys.stderr,
    )
    return side


def run_once(
    number: int,
    args: argparse.Namespace,
    settings: Settings,
    analyzer: Any,
    articles: Sequence[dict[str, Any]],
    configs: Sequence[tuple[int, int | None]],
) -> dict[str, Any]:
    """One run: the limit, then the pipeline in each configuration; ratios within the run.

    ``ratio`` is a configuration's throughput over the one-core limit, ``of_machine`` over
    what the machine's cores could parse (cores x the limit).
    """
    outcome: dict[str, Any] = {"run": number, "load_before": list(os.getloadavg())}
    limit = _limit(number, analyzer, settings, articles)
    if limit is not None:
        outcome["limit"] = limit
    if limit is not None and args.side_by_side:
        outcome["side_by_side"] = _side_by_side(number, settings, articles, limit)
    outcome["pipeline"] = {}
    outcome["ratio"] = {}
    outcome["of_machine"] = {}
    for workers, processes in configs:
        key = config_key(workers, processes)
        profile = args.profile if number == 1 else None
        run_settings = (
            settings
            if processes is None
            else settings.model_copy(update={"nlp_processes": processes})
        )
        result = measure_pipeline(run_settings, articles, workers, args, profile_dir=profile)
        result["nlp_processes"] = run_settings.parse_processes
        outcome["pipeline"][key] = result
        rate = result["saturation"]["articles_per_s"]
        ratio = ""
        if limit is not None:
            outcome["ratio"][key] = rate / limit["articles_per_s"]
            outcome["of_machine"][key] = rate / (cores() * limit["articles_per_s"])
            ratio = (
                f", {outcome['ratio'][key]:.2f} x limit, "
                f"{outcome['of_machine'][key]:.2f} of the machine"
            )
        print(
            f"bench: run {number}: {key} worker(s) {rate:.2f} articles/s{ratio}; "
            f"load {load_text()}",
            file=sys.stderr,
        )
    if "1" in outcome["pipeline"] and "2" in outcome["pipeline"]:
        one = outcome["pipeline"]["1"]["saturation"]["articles_per_s"]
        two = outcome["pipeline"]["2"]["saturation"]["articles_per_s"]
        outcome["scaling"] = two / one
    if "side_by_side" in outcome:
        together = outcome["side_by_side"]["articles_per_s"]
        outcome["of_side_by_side"] = {
            k: r["saturation"]["articles_per_s"] / together for k, r in outcome["pipeline"].items()
        }
    outcome["load_after"] = list(os.getloadavg())
    return outcome
