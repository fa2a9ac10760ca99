"""``circlemade report``: the worked example's products by hand (docs/report.md), a
simulated month's figures against the KPI points the same replay writes, the PDF, HTML
and export files, and a cluster report read from InfluxDB."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import tomli_w

from circlemade.cli import main
from circlemade.report.figures import month_bounds
from edge.service.config import parse_config
from edge.storage.line_protocol import last_writes, parse
from edge.tools.recording import Replayer, read_records
from simulators.cluster_month import SITES, recording, site_config
from simulators.local_servers import LocalServer
from tests.kpi_session import CONFIG, T0
from tests.kpi_session import recording as worked_example
from tests.pact_schema import PRODUCT_FOOTPRINT
from tests.replayed import mqtt, replay_two_sites

MONTHS = ("2026-10", "2026-11")


def products(export: Path, site: str, month: str = "2026-11") -> dict[str, dict[str, str]]:
    with (export / f"{site}-{month}-products.csv").open() as file:
        return {row["product"]: row for row in csv.DictReader(file)}


def test_the_worked_example_per_product_by_hand(tmp_path: Path) -> None:
    mill = {**CONFIG["machines"][2], "material": "steel", "density_g_cm3": 7.85}
    config = {**CONFIG, "machines": [*CONFIG["machines"][:2], mill],
              "products": [{"name": "PLA bracket", "jobs": ["bracket"]},
                           {"name": "steel bracket", "jobs": ["bracket.nc"]}]}
    (tmp_path / "example.toml").write_text(tomli_w.dumps(config))
    (tmp_path / "example.jsonl").write_bytes(worked_example())
    assert main(["report", "-c", str(tmp_path / "example.toml"), "--month", "2026-11",
                 "--from-recording", str(tmp_path / "example.jsonl"),
                 "-o", str(tmp_path / "example.html")]) == 0
    found = products(tmp_path / "example-export", "example")
    hand = {  # product: jobs, parts, good, kWh, g, scrap g, CO2e kg, CO2e kg per good part
        "PLA bracket": (1, 1, 1, 0.09, 17.8953, 0, 0.0144, 0.0144),
        "steel bracket": (2, 5, 4, 1.666667, 2500, 500, 0.266667, 0.0666667),
        "vase": (1, 1, 0, 0.0666667, 6.10942, 6.10942, 0.0106667, None),
    }
    assert set(found) == set(hand)
    columns = ("jobs", "parts", "good_parts", "energy_kwh", "material_g", "scrap_g",
               "co2e_kg", "co2e_kg_per_good_part")
    for product, figures in hand.items():
        for column, expected in zip(columns, figures, strict=True):
            got = found[product][column]
            if expected is None:
                assert got == "", (product, column)
            else:
                assert float(got) == pytest.approx(expected, rel=5e-3, abs=1e-6), (
                    product, column)
    with (tmp_path / "example-export" / "example-2026-11-material.csv").open() as file:
        material = {(row["material"], row["lot"]): float(row["material_g"])
                    for row in csv.DictReader(file)}
    assert material == pytest.approx({("PLA", "(no lot)"): 17.8953,
                                      ("PETG", "(no lot)"): 6.10942,
                                      ("steel", "(no lot)"): 2500.0}, rel=5e-3)
    footprint = orjson.loads((tmp_path / "example-export" /
                              "example-2026-11-steel_bracket.footprint.json").read_bytes())
    jsonschema.validate(footprint, PRODUCT_FOOTPRINT,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    # per kilogram of good part: 2,000 g of steel in 4 good parts is 0.5 kg a part
    assert footprint["pcf"]["declaredUnit"] == "kilogram"
    assert footprint["pcf"]["unitaryProductAmount"] == "0.5"
    assert float(footprint["pcf"]["pCfExcludingBiogenic"]) == pytest.approx(0.0666667 / 0.5,
                                                                            rel=5e-3)
    assert footprint["pcf"]["geographyCountry"] == "BE"
    assert footprint["pcf"]["referencePeriodStart"] == "2026-10-31T23:00:00Z"  # Brussels
    assert footprint["extensions"][0]["data"]["emissionFactorKgCo2ePerKwh"] == 0.16
    assert not (tmp_path / "example-export" / "example-2026-11-vase.footprint.json").exists()


def test_a_product_named_in_a_verdict_wins_over_the_patterns(tmp_path: Path) -> None:
    config = {**CONFIG, "products": [{"name": "PLA bracket", "jobs": ["bracket"]}]}
    (tmp_path / "example.toml").write_text(tomli_w.dumps(config))
    said = mqtt(T0 + 3700, "circlemade/example/p1/verdict",
                {"good": 1, "product": "wall hook", "by": "amina"})
    (tmp_path / "example.jsonl").write_bytes(worked_example() + orjson.dumps(said) + b"\n")
    assert main(["report", "-c", str(tmp_path / "example.toml"), "--month", "2026-11",
                 "--from-recording", str(tmp_path / "example.jsonl"),
                 "-o", str(tmp_path / "example.html")]) == 0
    found = products(tmp_path / "example-export", "example")
    assert "PLA bracket" not in found
    assert (found["wall hook"]["jobs"], found["wall hook"]["good_parts"]) == ("1", "1")  # counts
    assert float(found["wall hook"]["energy_kwh"]) == pytest.approx(0.09, rel=5e-3)


def simulated_site(tmp_path: Path, index: int = 0) -> tuple[Path, Path, dict[str, Any]]:
    site, name, seed = SITES[index]
    raw = site_config(site, name, seed)
    config, path = tmp_path / f"{site}.toml", tmp_path / f"{site}.jsonl"
    config.write_text(tomli_w.dumps(raw))
    path.write_bytes(b"\n".join(recording(site, seed, MONTHS)) + b"\n")
    return config, path, raw


def test_a_simulated_month_matches_the_job_points_and_makes_a_pdf(tmp_path: Path) -> None:
    config_path, path, raw = simulated_site(tmp_path)
    site = raw["site"]["id"]
    assert main(["report", "-c", str(config_path), "--month", "2026-11",
                 "--from-recording", str(path), "-o", str(tmp_path / "nord.pdf")]) == 0
    assert (tmp_path / "nord.pdf").read_bytes().startswith(b"%PDF-")
    export = tmp_path / "nord-export"
    found = products(export, site)

    config = parse_config(raw)
    points = last_writes([parse(line) for line in
                          Replayer(config).lines(read_records(path))])
    start, end = month_bounds("2026-11", "Europe/Brussels")
    jobs = [fields for (name, _, time_ns), fields in points.items()
            if name == "job" and start <= time_ns < end]
    brackets = [j for j in jobs if str(j["job"]).startswith("printer-")]
    assert brackets and int(found["bracket"]["jobs"]) == len(brackets)
    for column in ("good_parts", "energy_kwh", "material_g", "recycled_g", "scrap_g",
                   "co2e_kg"):
        assert float(found["bracket"][column]) == pytest.approx(
            sum(float(j.get(column, 0.0)) for j in brackets), rel=1e-5, abs=1e-6), column
    good = sum(float(j["good_parts"]) for j in brackets)
    assert float(found["bracket"]["co2e_kg_per_good_part"]) == pytest.approx(
        sum(float(j["co2e_kg"]) for j in brackets) / good, rel=1e-5)
    hours = [fields for (name, tags, time_ns), fields in points.items()
             if name == "circularity" and dict(tags)["window"] == "hour"
             and start <= time_ns < end]
    with (export / f"{site}-2026-11-energy.csv").open() as file:
        energy = sum(float(row["energy_kwh"]) for row in csv.DictReader(file))
    assert energy == pytest.approx(sum(float(h["energy_kwh"]) for h in hours), rel=1e-5)
    # batches, series, peak, peak_share, bill, noise_periods, noise_machines, fingerprints
    assert len(list(export.glob("*.csv"))) == 16
    assert {p.name for p in export.glob("*.footprint.json")} >= {
        f"{site}-2026-11-bracket.footprint.json"}


def test_a_month_without_points_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        ) -> None:
    config_path, path, _ = simulated_site(tmp_path)
    assert main(["report", "-c", str(config_path), "--month", "2025-03",
                 "--from-recording", str(path), "-o", str(tmp_path / "r.pdf")]) == 1
    assert "no KPI points of site atelier-nord in February 2025 or March 2025" in (
        capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["report", "-c", str(config_path), "--month", "2026-13", "-o", "r.pdf"])
    assert "expected a month as YYYY-MM" in capsys.readouterr().err


@pytest.mark.servers
def test_a_cluster_report_from_influxdb_with_members_anonymised(
        tmp_path: Path, influxdb1: LocalServer) -> None:
    influx = {"api": "v1", "url": influxdb1.url, "database": "cluster_report"}
    assert replay_two_sites(influx) > 2000
    own = site_config(*SITES[0], influx=influx)
    own["cluster"] = {"anonymise": True, "sites": [{"id": s, "name": n} for s, n, _ in SITES]}
    (tmp_path / "cluster.toml").write_text(tomli_w.dumps(own))
    assert main(["report", "-c", str(tmp_path / "cluster.toml"), "--month", "2026-11",
                 "--cluster", "-o", str(tmp_path / "cluster.html")]) == 0
    page = (tmp_path / "cluster.html").read_text()
    assert "Atelier Nord" in page and "workshop A" in page and "FabLab Sud" not in page
    (tmp_path / "alone").mkdir()
    config_path, path, _ = simulated_site(tmp_path / "alone")
    assert main(["report", "-c", str(config_path), "--month", "2026-11",
                 "--from-recording", str(path), "-o", str(tmp_path / "alone.html")]) == 0
    for export in ("cluster-export", "alone-export"):  # both sites made products
        assert products(tmp_path / export, SITES[0][0])
    assert products(tmp_path / "cluster-export", SITES[1][0])
    # the store gives what the recording gives, to the rounding of the CSV
    assert products(tmp_path / "cluster-export", SITES[0][0]) == products(
        tmp_path / "alone-export", SITES[0][0])


def test_without_its_extra_the_report_names_the_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "example.toml").write_text(tomli_w.dumps(CONFIG))
    (tmp_path / "example.jsonl").write_bytes(worked_example())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["report", "-c", str(tmp_path / "example.toml"), "--month", "2026-11",
                 "--from-recording", str(tmp_path / "example.jsonl"),
                 "-o", str(tmp_path / "example.html")]) == 2
    said = capsys.readouterr().err
    assert "pip install 'circlemade-edge[report]'" in said and "Traceback" not in said
