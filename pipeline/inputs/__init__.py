"""Articles from files, folders and standard input, for ``dipwire ingest`` and ``dipwire demo``.

:func:`plan` checks every path before anything is read or published (it
raises one error naming every problem); :func:`read` then yields ``(key,
message)`` for each article and counts, in a :class:`Tally`, what it could not
read as an article. Formats: JSON, JSON lines, plain text, RSS/Atom feeds
(feedparser), NITF and NewsML-G2 (lxml).
"""

from __future__ import annotations

from pipeline.inputs.plan import Plan, Source, plan
from pipeline.inputs.reading import Tally, read

__all__ = ["Plan", "Source", "Tally", "plan", "read"]
