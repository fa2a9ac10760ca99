"""bench/results.json -> bench/results.md (tables, targets) and bench/results.png (chart).

    .venv/bin/python -m bench.report [bench]     # again, from the last results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CEILING = "bare paho"


def _ceiling(throughput: list[dict[str, Any]], qos: int) -> float:
    return float(next(r["msg_per_s"] for r in throughput
                      if r["contender"] == CEILING and r["qos"] == qos))


def _find(throughput: list[dict[str, Any]], contender: str, qos: int,
          sink: str = "InfluxDB 1.x") -> dict[str, Any]:
    return next(r for r in throughput
                if r["contender"] == contender and r["qos"] == qos and r["sink"] in (sink, ""))


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the benchmarks issue."""
    tp = results["throughput"]
    ours = _find(tp, "circlemade-edge", 1)
    ratio = ours["msg_per_s"] / _ceiling(tp, 1)
    versus = ours["msg_per_s"] / _find(tp, "Node-RED", 1)["msg_per_s"]
    lat, mem, rep = results["latency"], results["memory"], results["replay"]
    opcua = max(results["opcua"], key=lambda r: r["items"])
    day_s = rep["seconds"] * 1.7e6 / rep["messages"]
    return [
        ("MQTT ingest >= 60 % of the bare-subscriber ceiling (QoS 1)",
         f"{ratio:.0%} ({ours['msg_per_s']:,.0f} of {_ceiling(tp, 1):,.0f} msg/s)", ratio >= 0.6),
        ("MQTT ingest >= 3x Node-RED (QoS 1)", f"{versus:.2f}x", versus >= 3),
        ("QoS 1 with the durable buffer >= 10,000 msg/s", f"{ours['msg_per_s']:,.0f} msg/s",
         ours["msg_per_s"] >= 10_000),
        ("p99 latency at 2,000 msg/s < 250 ms", f"{lat['p99_ms']:.0f} ms", lat["p99_ms"] < 250),
        ("RSS < 120 MB with 500 machines, flat",
         f"{mem['rss_max_mb']:.0f} MB max, {mem['slope_mb_per_min']:+.2f} MB/min over the "
         "second half", mem["rss_max_mb"] < 120 and abs(mem["slope_mb_per_min"]) < 0.5),
        (f"{opcua['items']:,} OPC UA items at 1 Hz < 30 % of a core",
         f"{opcua['cpu_pct']:.0f} %", opcua["cpu_pct"] < 30),
        ("20-machine day (about 1.7 M messages) replayed < 60 s",
         f"{rep['messages']:,} messages in {rep['seconds']:.0f} s; 1.7 M at that rate: "
         f"{day_s:.0f} s", day_s < 60),
    ]


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
        "peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in tp:
        share = r["msg_per_s"] / _ceiling(tp, r["qos"])
        points = f"{r['points_per_s']:,.0f}" if r["points_per_s"] else "-"
        runs = ", ".join(f"{v:,.0f}" for v in r["runs_msg_per_s"])
        out.append(f"| {r['name']} | {r['msg_per_s']:,.0f} | {runs} | {share:.0%} | {points} | "
                   f"{r['cpu_pct']:.0f} | {r['peak_rss_mb']:.0f} MB |")
    lat, mem, rep = results["latency"], results["memory"], results["replay"]
    out += [
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
        "| items | notifications/s | CPU (% of a core) | peak RSS |",
        "|---|---|---|---|",
        *[f"| {r['items']:,} | {r['notifications_per_s']:,.0f} | {r['cpu_pct']:.0f} | "
          f"{r['peak_rss_mb']:.0f} MB |" for r in results["opcua"]],
        "",
        "## Replay",
        "",
        f"A recorded {rep['machines']}-device workshop, {rep['hours']:g} h: "
        f"{rep['messages']:,} messages -> {rep['points']:,} lines in {rep['seconds']:.1f} s "
        f"({rep['msg_per_s']:,.0f} msg/s), `circlemade replay` start to end.",
        "",
        "![benchmark chart](results.png)",
        "",
    ]
    return "\n".join(out)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    tp = results["throughput"]
    ax = axes[0][0]
    colours = {"bare paho": "#9e9e9e", "circlemade-edge": "#2e7d32", "Node-RED": "#b71c1c"}
    names = [r["name"].replace(", InfluxDB 1.x", "").replace("VictoriaMetrics", "VM")
             for r in tp]
    ax.barh(names, [r["msg_per_s"] for r in tp], color=[colours[r["contender"]] for r in tp])
    for y, r in enumerate(tp):
        ax.text(r["msg_per_s"], y, f" {r['msg_per_s']:,.0f}", va="center", fontsize=8)
    ax.axvline(10_000, color="#2e7d32", linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_title("MQTT ingest, messages/s (median; dotted: 10,000 target)")
    ax.set_xlim(0, max(r["msg_per_s"] for r in tp) * 1.2)

    ax = axes[0][1]
    lat = results["latency"]
    qs, ms = zip(*lat["percentiles_ms"], strict=True)
    ax.plot(ms, qs, color="#2e7d32")
    ax.axvline(250, color="#b71c1c", linestyle=":", linewidth=1)
    ax.set_title(f"Latency at {lat['achieved_rate']:,.0f} msg/s (dotted: 250 ms)")
    ax.text(0.03, 0.92, f"p50 {lat['p50_ms']:.0f} ms\np95 {lat['p95_ms']:.0f} ms\n"
            f"p99 {lat['p99_ms']:.0f} ms", transform=ax.transAxes, va="top")
    ax.set_xlabel("device time -> InfluxDB accepted (ms)")
    ax.set_ylabel("percentile")

    ax = axes[1][0]
    mem = results["memory"]
    t, mb = zip(*mem["samples"], strict=True)
    ax.plot([x / 60 for x in t], mb, color="#2e7d32")
    ax.axhline(120, color="#b71c1c", linestyle=":", linewidth=1)
    ax.set_ylim(0, max(140, max(mb) * 1.1))
    ax.set_title(f"RSS with {mem['machines']} machines (dotted: 120 MB)")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MB")

    ax = axes[1][1]
    opcua = results["opcua"]
    ax.plot([r["items"] for r in opcua], [r["cpu_pct"] for r in opcua], "o-", color="#2e7d32")
    ax.axhline(30, color="#b71c1c", linestyle=":", linewidth=1)
    ax.set_ylim(0, max(40, max(r["cpu_pct"] for r in opcua) * 1.2))
    ax.set_title("OPC UA items at 1 Hz: CPU, % of one core (dotted: 30 %)")
    ax.set_xlabel("monitored items")
    env = results["environment"]
    fig.suptitle(f"circlemade-edge benchmarks, {env['date']}, {env['cpu']}, commit "
                 f"{env['commit']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict[str, Any], folder: Path) -> None:
    (folder / "results.md").write_text(markdown(results))
    chart(results, folder / "results.png")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    write(json.loads((folder / "results.json").read_text()), folder)
