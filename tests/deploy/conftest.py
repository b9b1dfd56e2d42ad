"""Fixtures of the deployment tier: the interpolated compose file, read once per module."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.artefacts import load_compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml interpolated with the default environment."""
    return load_compose()
