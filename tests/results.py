"""The results JSON checked against the schema in docs/, as every consumer of it may rely on."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "results-schema.json").read_text())


def load_valid(path: Path) -> dict:
    """The JSON at ``path``, after asserting it exists and matches the results schema."""
    assert path.exists(), f"no results written at {path}"
    report = json.loads(path.read_text())
    jsonschema.validate(report, SCHEMA)
    return report
