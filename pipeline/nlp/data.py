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
