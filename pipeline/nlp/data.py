"""The one loader of the packaged data files under ``pipeline/data/``.

Every vocabulary (actors, CAMEO codes and verbs, topics, confidence
coefficients) is a data file; code reads them only through these functions,
so a user's file given by path and the packaged default go the same way.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

DATA_PACKAGE = "pipeline.data"


class DataFileError(ValueError):
    """A user's data file (a dictionary) that cannot be read: ``file:line: what is wrong``.

    The CLI prints the message as it is, without a traceback, and ``hint`` (what
    the user can do about it) on a line of its own.
    """

    hint = ""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.line = line
        self.problem = problem


def data_file(*parts: str) -> Traversable:
    """The packaged data file ``pipeline/data/<parts...>``."""
    ref = resources.files(DATA_PACKAGE)
    for part in parts:
        ref = ref.joinpath(part)
    return ref


def read_toml(*parts: str, path: Path | None = None) -> dict[str, Any]:
    """Parse a TOML data file: ``path`` when given, else the packaged ``parts``."""
    source: Traversable | Path = path if path is not None else data_file(*parts)
    with source.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    return data


def read_json(*parts: str) -> Any:
    """Parse a packaged JSON data file."""
    return json.loads(data_file(*parts).read_text(encoding="utf-8"))
