"""Checks for every tier: a test carries the marker of the folder it lives in.

``make unit``, ``make agents``, ``make integration`` and ``make deploy-tests``
select by marker, so a test without its folder's marker would run only in
``make test``; the collection fails instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TIERS = frozenset({"unit", "agents", "integration", "deploy"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the collection when a test lacks the marker of its tier's folder."""
    unmarked = []
    for item in items:
        try:
            tier = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if tier in TIERS and item.get_closest_marker(tier) is None:
            unmarked.append(item.nodeid)
    if unmarked:
        raise pytest.UsageError(
            "tests without the marker of their tier: " + ", ".join(sorted(unmarked)[:10])
        )
