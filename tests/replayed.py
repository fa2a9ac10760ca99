"""Recorded sessions for the KPI tests: build a recording (the format ``circlemade
record`` writes), run it through ``circlemade replay`` and read the points back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import tomli_w

from circlemade.cli import main
from edge.service.config import Config
from edge.storage.line_protocol import Fields, Line, last_writes, parse
from edge.tools.recording import Replayer


def utc(text: str) -> int:
    """Unix seconds of ``2026-11-23T09:00:00`` (UTC)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def mqtt(t: float, topic: str, payload: dict[str, Any] | str) -> dict[str, Any]:
    text = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    return {"time": _iso(t), "source": "mqtt", "topic": topic, "payload": text}


def opcua(t: float, route: str, node: str, value: Any) -> dict[str, Any]:
    return {"time": _iso(t), "source": "opcua", "route": route, "node": node, "value": value}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_recording(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    return path


def replay(tmp_path: Path, config: dict[str, Any], entries: list[dict[str, Any]],
           name: str = "session") -> list[Line]:
    """Write ``config`` and the recording, run ``circlemade replay`` on them, and parse
    the line protocol it prints, in order."""
    config_path = tmp_path / f"{name}.toml"
    config_path.write_text(tomli_w.dumps(config))
    recording = write_recording(tmp_path / f"{name}.jsonl", entries)
    out = tmp_path / f"{name}.lp"
    assert main(["replay", "-c", str(config_path), str(recording), "--out", str(out)]) == 0
    return [parse(line) for line in out.read_text().splitlines()]


def report_tables(tmp_path: Path, config: dict[str, Any], entries: list[dict[str, Any]],
                  month: str) -> tuple[Path, dict[str, list[dict[str, str]]]]:
    """``circlemade report --from-recording`` of ``entries`` for ``month`` (site ``s``):
    the page written, and each exported table's rows by name."""
    import csv

    (tmp_path / "site.toml").write_text(tomli_w.dumps(config))
    recording = write_recording(tmp_path / "session.jsonl", entries)
    page = tmp_path / "r.html"
    assert main(["report", "-c", str(tmp_path / "site.toml"), "--month", month,
                 "--from-recording", str(recording), "-o", str(page)]) == 0
    tables = {}
    for path in (tmp_path / "r-export").glob(f"s-{month}-*.csv"):
        with path.open() as file:
            tables[path.stem.removeprefix(f"s-{month}-")] = list(csv.DictReader(file))
    return page, tables


def windows(lines: list[Line], measurement: str, machine: str, kind: str,
            ) -> dict[int, Fields]:
    """The kept ``oee`` or ``circularity`` windows of a machine, by start (unix s)."""
    return {time_ns // 10**9: fields
            for (name, tags, time_ns), fields in last_writes(lines).items()
            if name == measurement and dict(tags).get("machine") == machine
            and dict(tags).get("window") == kind}


def jobs(lines: list[Line], machine: str) -> list[Line]:
    return [line for line in lines
            if line.measurement == "job" and line.tags.get("machine") == machine]


def job_starts(lines: list[Line], machine: str) -> list[str]:
    """The names the ``job_event`` points carry at each start."""
    names = []
    for line in lines:
        if (line.measurement == "job_event" and line.tags.get("machine") == machine
                and line.fields.get("job_event") == "start"):
            names.append(str(line.fields.get("job_name", "")))
    return names


def around_the_clock(site: str = "s", timezone: str = "UTC") -> dict[str, Any]:
    """Site and calendar where every hour is planned."""
    return {"site": {"id": site, "timezone": timezone, "co2e_kg_per_kwh": 0.16},
            "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
            "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]}}


def replay_in_parts(config: Config | list[Config], parts: list[list[tuple[int, dict[str, Any]]]],
                    ) -> list[Line]:
    """Replay records part by part, each from the KPI memory the last left, as the
    service stores it across a restart; with a list of configs, each part has its own
    (the config changed across the restart)."""
    lines: list[str] = []
    memories: dict[str, bytes] = {}
    configs = config if isinstance(config, list) else [config] * len(parts)
    for part, part_config in zip(parts, configs, strict=True):
        replayer = Replayer(part_config, memories)
        lines += replayer.lines(iter(part))
        assert replayer.ingest.kpi is not None
        memories = replayer.ingest.kpi.whole_state()
    return [parse(line) for line in lines]


def replay_two_sites(influx: dict[str, Any], months: tuple[str, ...] = ("2026-10", "2026-11"),
                     ) -> int:
    """Both simulated workshops (simulators/cluster_month.py) over ``months``, replayed
    through the pipeline into the store ``influx``; the points written."""
    import asyncio

    from edge.service.config import parse_config
    from edge.tools.recording import replay_to_influx
    from simulators.cluster_month import SITES, recording, site_config

    written = 0
    for site, name, seed in SITES:
        config = parse_config(site_config(site, name, seed, influx))
        lines = Replayer(config).lines(
            (number, orjson.loads(line))
            for number, line in enumerate(recording(site, seed, months), 1))
        written += asyncio.run(replay_to_influx(config, lines))
    return written
