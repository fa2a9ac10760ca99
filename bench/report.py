"""bench/results.json -> bench/results.md (tables, targets) and bench/results.png (chart).

    .venv/bin/python -m bench.report [bench]     # again, from the last results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.chart import chart

CEILING = "bare paho"


def _ceiling(throughput: list[dict[str, Any]], qos: int) -> float:
    return float(next(r["msg_per_s"] for r in throughput
                      if r["contender"] == CEILING and r["qos"] == qos))


def _find(throughput: list[dict[str, Any]], contender: str, qos: int,
          sink: str = "InfluxDB 1.x") -> dict[str, Any]:
    return next(r for r in throughput
                if r["contender"] == contender and r["qos"] == qos and r["sink"] in (sink, ""))


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the performance issue: ratios against
    a peer or a ceiling measured in the same run, or counts."""
    found = _mqtt(results["throughput"])
    found += _durable(results.get("durable", []))
    pi = results.get("pi_capacity")
    if pi:
        found.append(("one Raspberry Pi 4 core (edge, Mosquitto, InfluxDB) serves >= 1,000 "
                      "machines at 1 msg/s, live p99 < 1 s",
                      f"{pi['capacity']:,} machines (CPU quota {pi['cpu_share']:.0%} of a core: "
                      f"sysbench {pi['sysbench_here']:,.0f} here, {pi['sysbench_pi4']:,.0f} on "
                      "a Pi 4)", pi["capacity"] >= 1000))
    for opcua in results["opcua"]:
        if "cpu_per_notification_vs_ceiling" in opcua:
            ratio = opcua["cpu_per_notification_vs_ceiling"]
            found.append((f"OPC UA {opcua['items']:,} items: CPU per notification <= 2x bare "
                          "asyncua", f"{ratio:.2f}x ({opcua['cpu_us_per_notification']:.0f} vs "
                          f"{opcua['ceiling_cpu_us_per_notification']:.0f} us)", ratio <= 2))
    backlog = results.get("backlog")
    if backlog:
        found += [
            (f"backlog of {backlog['hours']:g} h of {backlog['machines']} machines drained in "
             "<= 10 min", f"{backlog['backlog_points']:,} points in {backlog['drain_s']:.0f} s",
             backlog["drain_s"] <= 600),
            ("live points p99 < 1 s while the backlog drains",
             f"p99 {backlog['live_p99_ms']:,.0f} ms ({backlog['live_samples']:,} points)",
             backlog["live_p99_ms"] < 1000)]
    month = results.get("dashboards")
    if month:
        slowest = month["slowest_s"]
        found.append((f"every panel < 1 s over 30 days ({month['days']} days of 20 machines "
                      "in InfluxDB)", ", ".join(f"{r}: {s:.2f} s" for r, s in slowest.items())
                      + " (the slowest panel of each range)", max(slowest.values()) < 1.0))
    mem = results["memory"]
    found.append(("RSS <= 120 MB with 500 machines",
                  f"{mem['rss_max_mb']:.0f} MB max, {mem['slope_mb_per_min']:+.2f} MB/min over "
                  "the second half", mem["rss_max_mb"] <= 120))
    if backlog:
        found.append(("RSS during the backlog drain (reported)",
                      f"{backlog['rss_before_drain_mb']:.0f} MB before, "
                      f"{backlog['rss_peak_drain_mb']:.0f} MB at most", True))
    startup = results.get("startup")
    if startup:
        found.append((f"start to first point written, {startup['machines']} machines "
                      "(reported)", f"{startup['first_point_s']:.2f} s (MQTT session after "
                      f"{startup['connected_s']:.2f} s)", True))
    return found


def _mqtt(tp: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """The MQTT drains against the bare subscriber and Node-RED."""
    found: list[tuple[str, str, bool]] = []
    for qos, of_bare, of_red in ((1, 0.95, 2.5), (0, 0.8, 2.0)):
        ours, red = _find(tp, "circlemade-edge", qos), _find(tp, "Node-RED", qos)
        share, versus = ours["msg_per_s"] / _ceiling(tp, qos), ours["msg_per_s"] / red["msg_per_s"]
        found += [
            (f"MQTT QoS {qos} >= {of_bare:.0%} of the bare paho+orjson subscriber",
             f"{share:.0%} ({ours['msg_per_s']:,.0f} of {_ceiling(tp, qos):,.0f} msg/s; "
             f"{ours.get('cpu_us_per_message', 0):.0f} us CPU per message)", share >= of_bare),
            (f"MQTT QoS {qos} >= {of_red:g}x Node-RED",
             f"{versus:.2f}x ({red['msg_per_s']:,.0f} msg/s, "
             f"{red.get('cpu_us_per_message', 0):.0f} us per message)", versus >= of_red)]
    ours, bare = _find(tp, "circlemade-edge", 0), _find(tp, CEILING, 0)
    cpu = ours["cpu_us_per_message"] / bare["cpu_us_per_message"]
    found.append(("MQTT QoS 0 CPU per message <= 1.25x the bare subscriber's",
                  f"{cpu:.2f}x ({ours['cpu_us_per_message']:.0f} against "
                  f"{bare['cpu_us_per_message']:.0f} us)", cpu <= 1.25))
    return found


def _durable(runs: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """The edge against the bare subscriber that acknowledges after its own fsync, with a
    20-message broker window, per disk."""
    found = []
    for bare in (r for r in runs if r["contender"] == CEILING):
        ours = next(r for r in runs if r["contender"] == "circlemade-edge"
                    and r["window"] == bare["window"] and r["disk_ms"] == bare["disk_ms"])
        share = ours["msg_per_s"] / bare["msg_per_s"]
        disk = f"fsync {bare['disk_ms']} ms" if bare["disk_ms"] else "this disk"
        found.append((f"window {bare['window']}, {disk}: >= 80 % of the bare subscriber "
                      "acknowledging after its fsync", f"{share:.0%} ({ours['msg_per_s']:,.0f} "
                      f"of {bare['msg_per_s']:,.0f} msg/s)", share >= 0.8))
    return found


def markdown(results: dict[str, Any]) -> str:
    env, tp = results["environment"], results["throughput"]
    py = ", ".join(f"{k} {v}" for k, v in env["python_packages"].items())
    debs = ", ".join(f"{k} {v}" for k, v in env["debian_packages"].items())
    plan = results["plan"]
    out = [
        "# Benchmark results" + (" (quick run)" if results.get("quick") else ""),
        "",
        "Produced by `scripts/bench` (bench/run.py); see bench/README.md for the method and",
        "what the profiles say. Everything ran on one machine over loopback.",
        "",
        f"- date: {env['date']}, commit {env['commit']}",
        f"- machine: {env['cpu']}, {env['memory_gib']} GiB, {env['os']}",
        f"- Python {env['python']}: {py}",
        f"- Debian packages: {debs}",
        f"- Node {env['node']}: node-red {env['node_red']}, node-red-contrib-influxdb "
        f"{env['node_red_contrib_influxdb']}, node-opcua {env['node_opcua']}",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {name} | {measured} | {'yes' if met else '**no**'} |"
          for name, measured, met in targets(results)],
        "",
        f"## MQTT ingest ({plan['messages']:,} messages from 50 machines, median of "
        f"{plan['runs']})",
        "",
        "| contender | msg/s | each run | of the ceiling | points/s | CPU (% of a core) | "
        "CPU us per message | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join([*out, *_throughput(tp), *_others(results)])


def _throughput(tp: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in tp:
        share = r["msg_per_s"] / _ceiling(tp, r["qos"])
        points = f"{r['points_per_s']:,.0f}" if r["points_per_s"] else "-"
        runs = ", ".join(f"{v:,.0f}" for v in r["runs_msg_per_s"])
        out.append(f"| {r['name']} | {r['msg_per_s']:,.0f} | {runs} | {share:.0%} | {points} | "
                   f"{r['cpu_pct']:.0f} | {r.get('cpu_us_per_message', 0):.0f} | "
                   f"{r['peak_rss_mb']:.0f} MB |")
    return out


def _others(results: dict[str, Any]) -> list[str]:
    """Latency, memory, OPC UA, backlog and replay."""
    lat, mem, rep = results["latency"], results["memory"], results["replay"]
    return [
        "",
        f"## Latency, device time to InfluxDB acceptance, at {lat['achieved_rate']:,.0f} msg/s",
        "",
        f"{lat['samples']:,} points over {lat['seconds']:g} s: p50 {lat['p50_ms']:.0f} ms, "
        f"p95 {lat['p95_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms.",
        "",
        f"## Memory, {mem['machines']} machines at {mem['rate']:,.0f} msg/s for "
        f"{mem['minutes']:g} min",
        "",
        f"RSS in the first minute {mem['rss_first_min_mb']:.0f} MB, at the end "
        f"{mem['rss_end_mb']:.0f} MB, highest {mem['rss_max_mb']:.0f} MB; trend over the second "
        f"half {mem['slope_mb_per_min']:+.2f} MB/min; CPU {mem['cpu_pct']:.0f} % of a core.",
        "",
        "## OPC UA monitored items at 1 Hz (10 sessions, node-opcua server)",
        "",
        "| items | notifications/s | CPU (% of a core) | us per notification | bare asyncua "
        "us | ratio | peak RSS |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['items']:,} | {r['notifications_per_s']:,.0f} | {r['cpu_pct']:.0f} | "
          f"{r.get('cpu_us_per_notification', 0):.0f} | "
          f"{r.get('ceiling_cpu_us_per_notification', 0):.0f} | "
          f"{r.get('cpu_per_notification_vs_ceiling', 0):.2f}x | "
          f"{r['peak_rss_mb']:.0f} MB |" for r in results["opcua"]],
        "",
        *_backlog(results),
        "## Replay",
        "",
        f"A recorded {rep['machines']}-device workshop, {rep['hours']:g} h: "
        f"{rep['messages']:,} messages -> {rep['points']:,} lines in {rep['seconds']:.1f} s "
        f"({rep['msg_per_s']:,.0f} msg/s), `circlemade replay` start to end.",
        "",
        "![benchmark chart](results.png)",
        "",
    ]


def _backlog(results: dict[str, Any]) -> list[str]:
    backlog, startup = results.get("backlog"), results.get("startup")
    lines = []
    if backlog:
        lines += [f"## Backlog: InfluxDB away for {backlog['hours']:g} h of "
                  f"{backlog['machines']} machines, then back", "",
                  f"{backlog['messages']:,} messages -> {backlog['backlog_points']:,} points "
                  f"waiting; drained in {backlog['drain_s']:.0f} s "
                  f"({backlog['drain_points_per_s']:,.0f} points/s) while the workshop sent "
                  f"{backlog['live_rate']:g} msg/s live. The sink noticed InfluxDB back after "
                  f"{backlog['noticed_back_s']:.1f} s (its retry backoff); from its first write, "
                  f"live points p50 {backlog['live_p50_ms']:,.0f} ms, p99 "
                  f"{backlog['live_p99_ms']:,.0f} ms, max {backlog['live_max_ms']:,.0f} ms "
                  f"({backlog['live_samples']:,} points). RSS {backlog['rss_before_drain_mb']:.0f}"
                  f" MB before the drain, {backlog['rss_peak_drain_mb']:.0f} MB at most during "
                  "it.", ""]
    month = results.get("dashboards")
    if month:
        lines += [f"## Dashboards over {month['days']} days of 20 machines", "",
                  f"{month['points']:,} points replayed into InfluxDB 1.x in "
                  f"{month['fill_s']:.0f} s (a device message every {month['step_s']} s). "
                  f"{month['panels']} panels, each over 24 h, 7 days and 30 days (median of "
                  "three):", "", "| dashboard | panel | 24 h | 7 days | 30 days |",
                  "|---|---|---|---|---|"]
        rows: dict[tuple[str, str], dict[str, float]] = {}
        for timing in month["timings"]:
            rows.setdefault((timing["dashboard"], timing["panel"]), {})[timing["range"]] = (
                timing["seconds"])
        lines += [f"| {board} | {panel} | " + " | ".join(
            f"{took.get(r, 0):.3f} s" for r in ("24 h", "7 days", "30 days")) + " |"
            for (board, panel), took in rows.items()]
        lines.append("")
    if startup:
        lines += ["## Start-up", "",
                  f"{startup['machines']} machines configured, devices sending: the MQTT "
                  f"session after {startup['connected_s']:.2f} s, the first point in InfluxDB "
                  f"after {startup['first_point_s']:.2f} s (medians of {startup['runs']}: "
                  f"{startup['first_point_runs_s']}).", ""]
    return lines


def write(results: dict[str, Any], folder: Path) -> None:
    (folder / "results.md").write_text(markdown(results))
    chart(results, folder / "results.png")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    write(json.loads((folder / "results.json").read_text()), folder)
