from __future__ import annotations

from edge.schema import MEASUREMENTS, SIGNALS, markdown
from tests.conftest import REPO


def test_docs_schema_md_is_generated_from_the_code() -> None:
    assert (REPO / "docs" / "schema.md").read_text() == markdown(), (
        "docs/schema.md is stale: run python -m edge.schema > docs/schema.md")


def test_every_signal_lands_in_a_known_measurement_field() -> None:
    for name, signal in SIGNALS.items():
        assert MEASUREMENTS[signal.measurement.name].fields[signal.field.name] is signal.field, name


def test_tags_are_identifiers_never_job_ids() -> None:
    for spec in MEASUREMENTS.values():
        assert "job" not in spec.tags
        assert not set(spec.tags) & set(spec.fields)
