"""What VictoriaMetrics keeps of a point written twice (a job a verdict rewrote, a window
a late reading changed), found on the real server. The edge writes each write of a point
at its second plus its revision in milliseconds (edge/storage/stores/victoria_revisions.py):
with ``-dedup.minScrapeInterval=1s`` (docs/cluster.md) the last revision only, even when
smaller, before and after asking for a merge; without it both, with instant queries
answering the last. And what it does with a string field: a series of zeros, its text
lost (docs/cluster.md, which store)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import orjson
import pytest

from simulators import local_servers
from simulators.local_servers import LocalServer
from tests.conftest import unavailable
from tests.waiting import wait_for

T = 1_790_000_000
LINE = "job,site=s,machine=m good_parts={} " + f"{T}" + "{:03d}000000"
"""A job's point at second T, revision (milliseconds) as given."""


def write(server: LocalServer, body: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/write", data=body.encode(),
                                                  method="POST"), timeout=30)
    urllib.request.urlopen(f"{server.url}/internal/force_flush", timeout=30)


def exported(server: LocalServer, name: str) -> list[float]:
    with urllib.request.urlopen(f"{server.url}/api/v1/export?match[]={name}&start=0",
                                timeout=30) as answer:
        return [v for line in answer.read().splitlines()
                for v in orjson.loads(line)["values"]]


def kept(server: LocalServer, name: str) -> tuple[list[float], str]:
    """The raw samples exported, and what an instant query answers."""
    with urllib.request.urlopen(f"{server.url}/api/v1/query?query={name}&time={T + 1}",
                                timeout=30) as answer:
        (result,) = orjson.loads(answer.read())["data"]["result"]
    return exported(server, name), result["value"][1]


def merged(server: LocalServer) -> None:
    """Merge until one part is left (a merge takes at most 15 parts)."""

    def one_part() -> bool:
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=30) as answer:
            metrics = dict(line.rsplit(" ", 1) for line in answer.read().decode().splitlines()
                           if line.startswith(("vm_parts{", "vm_active_")))
        parts = sum(float(v) for k, v in metrics.items() if k.startswith("vm_parts{type=\"st"))
        busy = sum(float(v) for k, v in metrics.items() if k.startswith("vm_active_"))
        if parts > 1 and not busy:
            urllib.request.urlopen(f"{server.url}/internal/force_merge", timeout=30)
        return parts <= 1 and not busy

    wait_for("the merge", one_part)


WRITES = {"falling": [9, 7, 5, 3, 1], "rising": [1, 3, 5, 7, 9], "mixed": [5, 9, 1, 7, 3]}


@pytest.mark.servers
def test_equal_timestamps_leave_the_choice_to_the_store_revisions_do_not(
        tmp_path: Path) -> None:
    """Five writes of one point, each flushed to a part of its own, then merged. At one
    timestamp, the sample kept after the merge is not the last written for every order
    (VictoriaMetrics 1.79 keeps one by the order of its merge; later releases the
    biggest value); at the second plus a revision in milliseconds it always is."""
    try:
        server = local_servers.victoria_metrics(tmp_path / "vm").start()
    except local_servers.ServerUnavailable as exc:
        unavailable(str(exc))
    try:
        for name, values in WRITES.items():
            for revision, value in enumerate(values, 1):
                write(server, f"m,site=s same_{name}={value} {T}000000000")
                write(server, f"m,site=s revised_{name}={value} {T}{revision:03d}000000")
        merged(server)
        same = {name: exported(server, f"m_same_{name}") for name in WRITES}
        assert all(len(kept) == 1 for kept in same.values()), same
        assert any(same[name] != [values[-1]] for name, values in WRITES.items()), same
        for name, values in WRITES.items():
            assert kept(server, f"m_revised_{name}") == ([values[-1]], str(values[-1]))
    finally:
        server.stop()


@pytest.mark.servers
@pytest.mark.parametrize(("dedup", "samples"), [(True, [3.0]), (False, [5.0, 3.0])])
def test_a_point_rewritten_with_a_smaller_value_reads_back_as_the_newest(
        tmp_path: Path, dedup: bool, samples: list[float]) -> None:
    try:
        server = local_servers.victoria_metrics(tmp_path / "vm", dedup=dedup).start()
    except local_servers.ServerUnavailable as exc:
        unavailable(str(exc))
    try:
        write(server, LINE.format(5, 1))
        write(server, LINE.format(3, 2))  # a verdict: fewer good parts
        assert kept(server, "job_good_parts") == (samples, "3")
        merged(server)
        assert kept(server, "job_good_parts") == (samples, "3")
        write(server, f'job,site=s,machine=m job="bracket.gcode" {T + 60}000000000')
        assert exported(server, "job_job") == [0.0]  # the text is gone
    finally:
        server.stop()
