"""results.png: the figures a person would rather look at than read, one panel each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GREEN, RED, GREY = "#2e7d32", "#b71c1c", "#9e9e9e"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=(13, 12.5))
    _ingest(axes[0][0], results["throughput"])
    _latency(axes[0][1], results["latency"])
    _pi(axes[1][0], results["pi_capacity"])
    _durable(axes[1][1], results["durable"])
    _memory(axes[2][0], results["memory"])
    _opcua(axes[2][1], results["opcua"])
    env = results["environment"]
    fig.suptitle(f"circlemade-edge benchmarks, {env['date']}, {env['cpu']}, commit "
                 f"{env['commit']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _ingest(ax: Any, tp: list[dict[str, Any]]) -> None:
    colours = {"bare paho": GREY, "circlemade-edge": GREEN, "Node-RED": RED}
    names = [r["name"].replace(", InfluxDB 1.x", "").replace("VictoriaMetrics", "VM")
             for r in tp]
    ax.barh(names, [r["msg_per_s"] for r in tp], color=[colours[r["contender"]] for r in tp])
    for y, r in enumerate(tp):
        ax.text(r["msg_per_s"], y, f" {r['msg_per_s']:,.0f}", va="center", fontsize=8)
    ax.axvline(10_000, color=GREEN, linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_title("MQTT ingest, messages/s (median; dotted: 10,000 target)")
    ax.set_xlim(0, max(r["msg_per_s"] for r in tp) * 1.2)


def _latency(ax: Any, lat: dict[str, Any]) -> None:
    qs, ms = zip(*lat["percentiles_ms"], strict=True)
    ax.plot(ms, qs, color=GREEN)
    ax.axvline(250, color=RED, linestyle=":", linewidth=1)
    ax.set_title(f"Latency at {lat['achieved_rate']:,.0f} msg/s (dotted: 250 ms)")
    ax.text(0.03, 0.92, f"p50 {lat['p50_ms']:.0f} ms\np95 {lat['p95_ms']:.0f} ms\n"
            f"p99 {lat['p99_ms']:.0f} ms", transform=ax.transAxes, va="top")
    ax.set_xlabel("device time -> InfluxDB accepted (ms)")
    ax.set_ylabel("percentile")


def _pi(ax: Any, pi: dict[str, Any]) -> None:
    """Live p99 by the number of machines on one Pi 4 core's budget."""
    runs = pi["runs"]
    ax.plot([r["machines"] for r in runs], [r["p99_ms"] / 1000 for r in runs], "-",
            color=GREY, linewidth=1)
    for r in runs:
        ax.plot(r["machines"], r["p99_ms"] / 1000, "o", color=GREEN if r["served"] else RED)
        ax.text(r["machines"], r["p99_ms"] / 1000, f"  {r['p99_ms'] / 1000:.2f} s",
                fontsize=8, va="center")
    ax.axhline(1, color=RED, linestyle=":", linewidth=1)
    from matplotlib.ticker import FormatStrFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_title(f"One Pi 4 core: live p99 (dotted: 1 s), {pi['capacity']:,} served")
    ax.set_xlabel("machines, one message a second each")
    ax.set_ylabel("p99 device -> InfluxDB (s)")


def _durable(ax: Any, runs: list[dict[str, Any]]) -> None:
    """A 20-message broker window: the edge beside the bare subscriber that
    acknowledges after its own fsync, per disk."""
    disks = sorted({r["disk_ms"] for r in runs})
    width = 0.38
    for offset, contender, colour in ((-width / 2, "bare paho", GREY),
                                      (width / 2, "circlemade-edge", GREEN)):
        rates = [next(r["msg_per_s"] for r in runs
                      if r["contender"] == contender and r["disk_ms"] == d) for d in disks]
        ax.bar([i + offset for i in range(len(disks))], rates, width, color=colour,
               label=contender)
    ax.set_xticks(range(len(disks)), [f"fsync {d} ms" if d else "this disk" for d in disks])
    ax.legend(fontsize=8)
    ax.set_title("Broker window of 20, messages/s (bare: acks after its fsync)")


def _memory(ax: Any, mem: dict[str, Any]) -> None:
    t, mb = zip(*mem["samples"], strict=True)
    ax.plot([x / 60 for x in t], mb, color=GREEN)
    ax.axhline(120, color=RED, linestyle=":", linewidth=1)
    ax.set_ylim(0, max(140, max(mb) * 1.1))
    ax.set_title(f"RSS with {mem['machines']} machines (dotted: 120 MB)")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MB")


def _opcua(ax: Any, opcua: list[dict[str, Any]]) -> None:
    ax.plot([r["items"] for r in opcua], [r["cpu_pct"] for r in opcua], "o-", color=GREEN)
    ax.axhline(30, color=RED, linestyle=":", linewidth=1)
    ax.set_ylim(0, max(40, max(r["cpu_pct"] for r in opcua) * 1.2))
    ax.set_title("OPC UA items at 1 Hz: CPU, % of one core (dotted: 30 %)")
    ax.set_xlabel("monitored items")
