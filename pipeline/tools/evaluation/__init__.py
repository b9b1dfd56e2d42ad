"""``dipwire eval``: score the event coder on gold sentences or gold articles.

A gold file is JSON Lines in one of two formats (:mod:`.records`): sentence
records with their ``(source, target, code)`` events, or whole articles whose
events name the sentence that states them. Either is coded by the same
:class:`~pipeline.nlp.analyzer.Analyzer` the worker runs (:mod:`.coding`) and
scored by pure functions: sentences in :mod:`.scoring`, articles in
:mod:`.articles`. :mod:`.evidence` labels predictions for the confidence
fit, :mod:`.report` writes the tables, :mod:`.command` is the subcommand.
"""

from __future__ import annotations

from pipeline.tools.evaluation.articles import (
    LEVELS,
    ArticleResult,
    ArticleSummary,
    Predicted,
    code_articles,
    country,
    date_agrees,
    predicted_of,
    summarize_articles,
    worst_articles,
)
from pipeline.tools.evaluation.coding import code_records, coded, triple_of
from pipeline.tools.evaluation.command import EvalError, configure_parser, run
from pipeline.tools.evaluation.evidence import (
    Sample,
    cross_validated,
    read_samples,
    reliability,
    samples_of,
    write_samples,
)
from pipeline.tools.evaluation.records import (
    NO_TARGET,
    PART_RULE,
    PARTS,
    Gold,
    GoldArticle,
    GoldEvent,
    GoldFormatError,
    GoldRecord,
    Triple,
    in_part,
    part_of,
    read_articles,
    read_gold,
    read_records,
)
from pipeline.tools.evaluation.report import write_article_report, write_report
from pipeline.tools.evaluation.scoring import (
    CALIBRATION_BINS,
    Counts,
    Detection,
    RecordResult,
    Share,
    Summary,
    calibration,
    multiset_counts,
    summarize,
    to_roots,
    unique,
    worst,
)

__all__ = [
    "CALIBRATION_BINS",
    "LEVELS",
    "NO_TARGET",
    "PARTS",
    "PART_RULE",
    "ArticleResult",
    "ArticleSummary",
    "Counts",
    "Detection",
    "EvalError",
    "Gold",
    "GoldArticle",
    "GoldEvent",
    "GoldFormatError",
    "GoldRecord",
    "Predicted",
    "RecordResult",
    "Sample",
    "Share",
    "Summary",
    "Triple",
    "calibration",
    "code_articles",
    "code_records",
    "coded",
    "configure_parser",
    "country",
    "cross_validated",
    "date_agrees",
    "in_part",
    "multiset_counts",
    "part_of",
    "predicted_of",
    "read_articles",
    "read_gold",
    "read_records",
    "read_samples",
    "reliability",
    "run",
    "samples_of",
    "summarize",
    "summarize_articles",
    "to_roots",
    "triple_of",
    "unique",
    "worst",
    "worst_articles",
    "write_article_report",
    "write_report",
    "write_samples",
]
