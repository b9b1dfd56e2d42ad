"""The committed JSON Schema files are exactly what the models generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import MESSAGE_MODELS, render_schemas

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_every_model_has_a_schema_file_and_none_drifted() -> None:
    rendered = render_schemas()
    assert len(rendered) == len(MESSAGE_MODELS)
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.schema.json")}
    assert set(on_disk) == set(rendered), "run `dipwire schemas` to regenerate schemas/"
    for name, text in rendered.items():
        assert on_disk[name] == text, f"{name} drifted from the models; run `dipwire schemas`"


def test_every_message_carries_a_schema_version() -> None:
    for name, text in render_schemas().items():
        assert '"schema_version"' in text, name
