"""``dipwire bench``: the NLP's own speed, the pipeline's speed, latency and memory, in one run.

Every run measures, on the same articles:

* **limit**: the in-process NLP chain the stages call (``annotate`` over
  batches of ``batch_size``, then ``enrich``, then ``code``), with no broker,
  no JSON and no Faust: the most the pipeline could do on one core;
* **pipeline** with 1 and/or 2 worker processes (the real ``dipwire worker``,
  started through :class:`~pipeline.worker.WorkerProcess`) behind a fresh
  broker: articles/s at saturation, from the first publish to the last
  terminal record (``ArticleCoded`` or ``DeadLetter``), start-up excluded;
* **latency** at a fixed rate (half the measured saturation by default):
  producer send time of the ``articles.raw`` record to the timestamp of the
  article's ``articles.coded`` record, plus the per-hop figures from the
  record timestamps of every stage topic and, separately, what one idle hop
  through the broker costs (the consumer's fetch wait);
* **memory**: peak RSS of every worker (children included) and its RSS while
  the first and the last ``--rss-window`` articles went through.

Ratios (pipeline/limit, two workers/one) are taken inside each run, then the
median over ``--runs`` runs is reported. Everything, with machine facts and
load averages, goes to ``--out`` as JSON; a table goes to stdout.

The package, by responsibility: ``command`` (options, runs, report file),
``articles`` (what is sent), ``limit`` (the in-process chain), ``measure``
(workers behind a broker), ``collect`` (publishing and reading topics),
``latency``, ``procs`` (CPU and memory of process trees), ``profile``
(py-spy), ``stats`` and ``report`` (the table).
"""

from __future__ import annotations

from pipeline.tools.bench.command import configure_parser, run

__all__ = ["configure_parser", "run"]
