"""The ``dipwire eval`` subcommand: options, checks, and which scorer a gold file gets."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.tools.evaluation.articles import (
    article_calibration,
    code_articles,
    summarize_articles,
    worst_articles,
)
from pipeline.tools.evaluation.coding import code_records
from pipeline.tools.evaluation.evidence import (
    cross_validated,
    read_samples,
    reliability,
    samples_of,
    write_samples,
)
from pipeline.tools.evaluation.records import (
    PART_RULE,
    PARTS,
    Gold,
    GoldFormatError,
    in_part,
    read_gold,
)
from pipeline.tools.evaluation.report import write_article_report, write_fit_report, write_report
from pipeline.tools.evaluation.scoring import calibration, summarize, worst

if TYPE_CHECKING:
    from pipeline.nlp.analyzer import NlpConfig
    from pipeline.settings import Settings

DICTIONARY_OPTIONS = (
    (
        "actors",
        "actor_dictionaries",
        "actor dictionary",
        "actor dictionaries (PETRARCH format) on top of the default gazetteer",
    ),
    ("agents", "agent_dictionaries", "agent dictionary", "agent dictionaries (PETRARCH format)"),
    ("verbs", "verb_dictionaries", "verb dictionary", "CAMEO verb dictionaries"),
    ("issues", "issue_dictionaries", "issue dictionary", "issue dictionaries (Phoenix format)"),
    ("discards", "discard_dictionaries", "discard dictionary", "discard dictionaries"),
)
"""Each dictionary option: its name, the NlpConfig field it sets, its name in errors, its help.

An option given replaces the dictionaries of that kind from the settings
(``DIPWIRE_ACTOR_DICTIONARIES`` and the like); one not given keeps them.
"""

SENTENCE_ONLY = (
    ("subset", "--subset"),
    ("evidence", "--evidence"),
)
"""Options that read what only sentence records have (actor_dictionary, confidence bins)."""


class EvalError(ValueError):
    """A mistake in the command line or the files it names: one line for the user."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``eval`` subcommand's arguments to ``parser``."""
    parser.description = (
        "Code a gold file with the worker's analyzer and score it. The file holds sentence "
        "records (text, events) or whole articles (body, events naming their sentence and "
        f"its start); its first record tells which. Splits: {PART_RULE}."
    )
    parser.add_argument(
        "file", type=Path, nargs="?", help="JSON Lines gold file (sentence records or articles)"
    )
    for name, _, _, text in DICTIONARY_OPTIONS:
        parser.add_argument(
            f"--{name}",
            type=Path,
            nargs="+",
            action="extend",
            default=None,
            metavar="FILE",
            help=f"{text}; replace the configured ones of this kind",
        )
    parser.add_argument(
        "--part",
        choices=PARTS,
        default="all",
        # argparse %-formats help strings; the rule's "%" must stay a percent sign
        help="score the work part, the held-out part or all (default): "
        + PART_RULE.replace("%", "%%"),
    )
    parser.add_argument(
        "--subset",
        action="append",
        default=None,
        metavar="NAME",
        help="only score sentence records whose actor_dictionary is NAME (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument(
        "--errors",
        nargs="?",
        type=int,
        const=25,
        default=None,
        metavar="N",
        help="also list the N records or articles with the most errors (default 25)",
    )
    parser.add_argument(
        "--calibration",
        action="store_true",
        help="also print the reliability table of the event confidence",
    )
    parser.add_argument(
        "--evidence",
        type=Path,
        default=None,
        metavar="OUT",
        help="write every predicted event's confidence features and correctness (JSON Lines)",
    )
    _fit_options(parser)


def _fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fit-confidence",
        type=Path,
        default=None,
        metavar="OUT",
        help="fit the confidence model on --from evidence files and write it to OUT (no FILE)",
    )
    parser.add_argument(
        "--from",
        dest="evidence_from",
        type=Path,
        nargs="+",
        action="extend",
        default=None,
        metavar="EVIDENCE",
        help="evidence files written by --evidence, for --fit-confidence",
    )
    parser.add_argument(
        "--l2", type=float, default=2.0, help="L2 penalty of the confidence fit (default 2)"
    )


def nlp_config(args: argparse.Namespace, settings: Settings) -> NlpConfig:
    """The settings' NLP configuration with the dictionaries the options name."""
    from pipeline.nlp.analyzer import NlpConfig

    given: dict[str, Any] = {
        field: tuple(getattr(args, name))
        for name, field, _, _ in DICTIONARY_OPTIONS
        if getattr(args, name, None) is not None
    }
    return dataclasses.replace(NlpConfig.from_settings(settings), **given)


def check_files(args: argparse.Namespace, config: NlpConfig) -> None:
    """Refuse, naming it, the first file that is not there (before seconds of loading)."""
    if not args.file.is_file():
        raise EvalError(f"gold file not found: {args.file}")
    for _, field, label, _ in DICTIONARY_OPTIONS:
        for path in getattr(config, field):
            if not Path(path).is_file():
                raise EvalError(f"{label} not found: {path}")


def check_options(args: argparse.Namespace, gold: Gold) -> None:
    """Refuse options the gold file's format has nothing for."""
    if gold.kind != "articles":
        return
    for name, flag in SENTENCE_ONLY:
        if getattr(args, name):
            raise EvalError(f"{flag} applies to sentence records; {args.file} holds articles")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Code and score the gold of ``args.file``; print the report; return 0."""
    from pipeline.errors import PipelineError

    try:
        if args.fit_confidence is not None:
            return fit_command(args)
        if args.file is None:
            raise EvalError("a gold FILE is required (or --fit-confidence)")
        config = nlp_config(args, settings)
        check_files(args, config)
        gold = read_gold(args.file)
        check_options(args, gold)
    except (EvalError, GoldFormatError) as exc:
        raise PipelineError(f"eval: {exc}") from None
    from pipeline.nlp.analyzer import Analyzer

    analyzer = Analyzer.load(config)
    if gold.kind == "articles":
        report = article_report(args, gold, analyzer)
    else:
        report = sentence_report(args, gold, analyzer)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif gold.kind == "articles":
        write_article_report(report, sys.stdout)
    else:
        write_report(report, sys.stdout)
    return 0


def sentence_report(args: argparse.Namespace, gold: Gold, analyzer: Any) -> dict[str, Any]:
    """Code and score the sentence records of the chosen part and subsets."""
    records = [r for r in gold.records if in_part(r.id, args.part)]
    if args.subset:
        records = [r for r in records if r.dictionary in set(args.subset)]
    results = code_records(records, analyzer)
    report = {"part": args.part, **summarize(results)}
    if args.calibration:
        report["calibration"] = calibration(results)
    if args.errors:
        report["errors"] = worst(results, args.errors)
    if args.evidence is not None:
        write_samples(samples_of(results), args.evidence)
    return report


def article_report(args: argparse.Namespace, gold: Gold, analyzer: Any) -> dict[str, Any]:
    """Code and score the gold articles of the chosen part."""
    articles = [a for a in gold.articles if in_part(a.id, args.part)]
    results = code_articles(articles, analyzer)
    report = {"part": args.part, **summarize_articles(results)}
    if args.calibration:
        report["calibration"] = article_calibration(results)
    if args.errors:
        report["errors"] = worst_articles(results, args.errors)
    return report


def fit_command(args: argparse.Namespace) -> int:
    """Fit the confidence model on evidence files; write it; print its reliability."""
    from pipeline.nlp.events.confidence import fit

    if not args.evidence_from:
        raise EvalError("--fit-confidence needs evidence files: give them with --from")
    for path in args.evidence_from:
        if not path.is_file():
            raise EvalError(f"evidence file not found: {path}")
    samples = read_samples(args.evidence_from)
    model = fit([(s.evidence, s.correct) for s in samples], l2=args.l2)
    records = len({s.record for s in samples})
    note = (
        f"Fitted by `dipwire eval --fit-confidence` on {len(samples)} predicted events of\n"
        f"{records} gold records (L2 penalty {args.l2:g});\n"
        "features: pipeline/nlp/events/confidence.py."
    )
    args.fit_confidence.write_text(model.to_toml(note), encoding="utf-8")
    fitted = [(model.score(s.evidence), s.correct) for s in samples]
    report: dict[str, Any] = {
        "events": len(samples),
        "records": records,
        "model": {"intercept": model.intercept, **model.weights},
        "in_sample": reliability(fitted),
        "leave_one_record_out": reliability(cross_validated(samples, args.l2)),
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_fit_report(report, str(args.fit_confidence), sys.stdout)
    return 0
