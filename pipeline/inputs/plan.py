"""Which files an ingest reads: every path checked before anything is published.

A named file must exist and be of a known kind (by its suffix); a folder is
searched recursively, hidden entries left out, and its files of other kinds
are listed as skipped. ``-`` is standard input. A URL is refused: the
command reads what a fetcher saved, it does not fetch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import PipelineError

SUFFIXES: dict[str, str] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".xml": "xml",
    ".rss": "xml",
    ".atom": "xml",
    ".rdf": "xml",
    ".nitf": "xml",
}
"""File suffixes read as articles, and how: an ``xml`` file is a feed, NITF or NewsML-G2,
told apart by its root element."""

STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One file (or standard input) to read, and its kind (a value of :data:`SUFFIXES`)."""

    name: str
    kind: str

    @property
    def path(self) -> Path | None:
        """The file, or None for standard input."""
        return None if self.name == STDIN else Path(self.name)


@dataclass(frozen=True)
class Plan:
    """What an ingest reads, in order, and the files of folders it leaves out."""

    sources: tuple[Source, ...]
    skipped: tuple[str, ...] = field(default=())


def plan(names: Iterable[str | Path]) -> Plan:
    """Check every path and list the files to read.

    Raises:
        PipelineError: One or more paths are missing, unreadable, URLs, or
            files of an unknown kind; the message names each of them.
    """
    sources: list[Source] = []
    skipped: list[str] = []
    problems: list[str] = []
    for raw in names:
        name = str(raw)
        if name == STDIN:
            sources.append(Source(STDIN, "stdin"))
            continue
        problem = _problem(name)
        if problem:
            problems.append(problem)
            continue
        path = Path(name)
        if path.is_dir():
            found, left_out = _walk(path)
            sources.extend(found)
            skipped.extend(left_out)
        else:
            sources.append(Source(name, SUFFIXES[path.suffix.lower()]))
    if problems:
        raise PipelineError(
            "nothing was published: "
            + "; ".join(problems)
            + f" (readable suffixes: {', '.join(sorted(SUFFIXES))}, a folder, or - for stdin)"
        )
    return Plan(tuple(sources), tuple(skipped))


def _problem(name: str) -> str | None:
    """Why ``name`` cannot be read, or None."""
    if "://" in name:
        return (
            f"{name}: a URL; save it with your fetcher first "
            f"(curl -o feed.xml URL), or pipe it in (curl URL | dipwire ingest -)"
        )
    path = Path(name)
    if not path.exists():
        return f"{name}: no such file or folder"
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        return f"{name}: not readable"
    if path.is_dir():
        return None
    if not path.is_file():
        return f"{name}: not a file or folder"
    if path.suffix.lower() not in SUFFIXES:
        return f"{name}: not a file of a known kind"
    return None


def _walk(folder: Path) -> tuple[list[Source], list[str]]:
    """The article files under ``folder`` (sorted, recursively) and the other files."""
    found: list[Source] = []
    left_out: list[str] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None or not os.access(path, os.R_OK):
            left_out.append(str(path))
        else:
            found.append(Source(str(path), kind))
    return found, left_out
