from __future__ import annotations

from contract.schema import MEASUREMENTS, SIGNALS, markdown
from tests.conftest import REPO


def test_docs_schema_md_is_generated_from_the_code() -> None:
    assert (REPO / "docs" / "schema.md").read_text() == markdown(), (
        "docs/schema.md is stale: run python -m contract.schema > docs/schema.md")


def test_every_signal_lands_in_a_known_measurement_field() -> None:
    for name, signal in SIGNALS.items():
        assert MEASUREMENTS[signal.measurement.name].fields[signal.field.name] is signal.field, name


def test_tags_are_identifiers_never_job_ids() -> None:
    for spec in MEASUREMENTS.values():
        assert "job" not in spec.tags
        assert not set(spec.tags) & set(spec.fields)


def test_profile_pages_are_generated_from_the_modules() -> None:
    from gateways.profile_docs import page
    from gateways.profiles import PROFILES

    pages = {path.stem for path in (REPO / "docs" / "profiles").glob("*.md")}
    assert pages == set(PROFILES), "run python -m gateways.profile_docs docs/profiles"
    for profile in PROFILES:
        assert (REPO / "docs" / "profiles" / f"{profile}.md").read_text() == page(profile), (
            "stale: run python -m gateways.profile_docs docs/profiles")


def test_every_profile_has_a_row_in_the_readmes_device_table() -> None:
    from gateways.profiles import PROFILES

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Devices"):readme.index("## People on the floor")]
    assert {name for name in PROFILES if f"`{name}`" not in table} == set()
