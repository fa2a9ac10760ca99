"""The durable buffer against its disk: damaged files, a full disk, a read-only one, the
byte bound, and commits that reach the disk before anything is acknowledged."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from edge.storage.buffer import BufferBlocked, DurableBuffer
from edge.storage.buffer_file import BufferUnavailable
from edge.storage.buffer_recovery import NothingToRecover, Recovery, recovered_lines
from edge.storage.health import Health
from edge.storage.influxql import InfluxQL
from simulators.local_servers import LocalServer
from tests.conftest import REPO, unavailable
from tests.disks import remount, small_disk

LINES = [f"m,site=s f={i}.0 {1_795_420_800_000_000_000 + i}" for i in range(3000)]


async def filled(path: Path, **limits: int) -> DurableBuffer:
    buffer = DurableBuffer(path, Health("s"), **limits)  # type: ignore[arg-type]
    await buffer.open()
    for start in range(0, len(LINES), 100):
        await buffer.append(LINES[start:start + 100])
    return buffer


@pytest.mark.parametrize("damage", ["half truncated", "bad header"])
async def test_a_damaged_file_is_set_aside_and_the_service_starts_fresh(
        tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14, defect 4: a half-truncated file or a bad header crashed every start."""
    path = tmp_path / "buffer.sqlite"
    await (await filled(path)).close()
    with path.open("r+b") as file:
        if damage == "half truncated":
            file.truncate(path.stat().st_size // 2)
        else:
            file.write(b"this is no database header")
    health = Health("s")
    buffer = DurableBuffer(path, health)
    with caplog.at_level(logging.ERROR, logger="circlemade"):
        assert await buffer.open() == 0
    aside = sorted(tmp_path.glob("buffer.sqlite.damaged-*"))  # noqa: ASYNC240
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))]
    assert health.get("buffer", "buffer_damaged") == 1
    logged = [r for r in caplog.records if getattr(r, "event", "") == "buffer.damaged"]
    assert logged and str(path) in logged[0].fields["path"]  # type: ignore[attr-defined]
    await buffer.append(["m f=1.0 1"])  # a working buffer again
    assert buffer.depth == 1
    buffer.state_version = "1"  # the KPI memory that follows says its format in the new file
    await buffer.append(["m f=2.0 2"], {"m": b"{}"})
    assert await buffer.load_state() == ("1", {"m": b"{}"})
    await buffer.close()


async def test_what_a_truncated_file_still_holds_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite"
    await (await filled(path)).close()
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    recovery = Recovery()
    lines = list(recovered_lines(path, recovery))
    assert 0 < len(lines) < len(LINES)
    assert set(lines) <= set(LINES)
    assert recovery.points == len(lines) and recovery.chunks_read > 0
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(NothingToRecover, match="header"):
        list(recovered_lines(bad, Recovery()))


def test_buffer_recover_writes_what_can_be_read_to_influxdb(
        tmp_path: Path, influxdb1: LocalServer) -> None:
    path = tmp_path / "buffer.sqlite"
    asyncio.run(_fill_and_close(path))
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    expected = len(list(recovered_lines(path, Recovery())))
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": influxdb1.url, "database": "rec"},
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "x", "profile": "json"}]}]}))
    done = subprocess.run([sys.executable, "-m", "circlemade.cli", "buffer", "recover", str(path),
                           "-c", str(config)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{expected} points; written to {influxdb1.url}: {expected}" in done.stderr
    assert asyncio.run(_count(influxdb1)) == expected


async def _fill_and_close(path: Path) -> None:
    await (await filled(path)).close()


async def _count(influx: LocalServer) -> int:
    client = InfluxQL(influx.url, "rec")
    try:
        series = await client.query('SELECT count("f") FROM "m"')
    finally:
        await client.close()
    return int(series[0].rows[0]["count"])


async def test_below_the_free_space_floor_nothing_is_appended(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    buffer = DurableBuffer(tmp_path / "b.sqlite", Health("s"), min_free_bytes=free * 2)
    await buffer.open()
    with pytest.raises(BufferBlocked, match=r"below the floor .*min_free_bytes") as raised:
        await buffer.append(LINES[:10])
    assert raised.value.free_bytes > 0 and buffer.depth == 0
    buffer.min_free_bytes = 0
    await buffer.append(LINES[:10])
    assert buffer.depth == 10
    await buffer.close()


async def test_a_full_database_blocks_appends_without_damage(tmp_path: Path) -> None:
    """SQLite's own "database or disk is full" (here through max_page_count, the disk
    full at the SQLite layer): the append changes nothing, later ones work again."""
    buffer = DurableBuffer(tmp_path / "b.sqlite", Health("s"), min_free_bytes=0)
    await buffer.open()
    await buffer.append(LINES[:100])
    pages = await buffer._run(lambda: buffer._db.execute(  # type: ignore[union-attr]
        "PRAGMA page_count").fetchone()[0])
    await buffer._run(lambda: buffer._db.execute(  # type: ignore[union-attr]
        f"PRAGMA max_page_count = {pages + 1}"))
    with pytest.raises(BufferBlocked, match="full"):
        await buffer.append(LINES[100:3000])
    assert buffer.depth == 100
    taken = await buffer.take(100)
    assert taken is not None and taken.lines == LINES[:100]
    await buffer._run(lambda: buffer._db.execute(  # type: ignore[union-attr]
        "PRAGMA max_page_count = 1073741823"))
    await buffer.append(LINES[100:200])
    assert buffer.depth == 200
    await buffer.close()


async def test_the_byte_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    health = Health("s")
    big = [line + "0" * 900 for line in LINES]  # about 3 MB of points
    buffer = DurableBuffer(tmp_path / "b.sqlite", health, max_bytes=1_000_000)
    await buffer.open()
    for start in range(0, len(big), 100):
        await buffer.append(big[start:start + 100])
    dropped = health.get("buffer", "buffer_dropped")
    assert dropped > 0 and buffer.depth == len(big) - dropped
    taken = await buffer.take(10_000)
    assert taken is not None and taken.lines == big[int(dropped):]  # the newest kept, in order
    in_use = await buffer._run(lambda: buffer._db.execute(  # type: ignore[union-attr]
        "SELECT (SELECT page_count FROM pragma_page_count) - "
        "(SELECT freelist_count FROM pragma_freelist_count)").fetchone()[0] * 4096)
    assert in_use <= 1_000_000 + 200_000  # the bound, and the chunk that crossed it
    await buffer.close()


async def test_commits_are_fsynced_and_files_private(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    buffer = DurableBuffer(path, Health("s"))
    await buffer.open()
    assert await buffer._run(lambda: buffer._db.execute(  # type: ignore[union-attr]
        "PRAGMA synchronous").fetchone()[0]) == 2  # FULL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    await buffer.close()


def syncs_traced(tmp_path: Path, then: str = "") -> tuple[int, int]:
    """20 appends, then the statements ``then`` (indented, ``b`` the buffer), in a process
    of their own under strace: the fsync calls made by the appends and after them."""
    if shutil.which("strace") is None:
        unavailable("strace is not installed (scripts/setup installs it)")
    script = tmp_path / "append.py"
    script.write_text(
        "import asyncio, sys\nfrom pathlib import Path\n"
        "from edge.storage.buffer import DurableBuffer\nfrom edge.storage.health import Health\n"
        "async def main():\n"
        "    b = DurableBuffer(Path(sys.argv[1]), Health('s'))\n"
        "    await b.open()\n"
        "    for i in range(20):\n"
        "        await b.append([f'm f={i}.0 {i}'])\n"
        "    print('appended', flush=True)\n"
        f"{then}"
        "    await b.close()\n"
        "asyncio.run(main())\n")
    trace = tmp_path / "strace.txt"
    subprocess.run(["strace", "-f", "-o", str(trace), "-e", "trace=fsync,fdatasync,write",
                    sys.executable, str(script), str(tmp_path / "b.sqlite")],
                   cwd=REPO, check=True, timeout=120, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(REPO)})
    before, after = trace.read_text().split("appended")
    return syncs(before), syncs(after)


def syncs(trace: str) -> int:
    return sum(1 for line in trace.splitlines() if "fsync(" in line or "fdatasync(" in line)


def test_each_commit_reaches_the_disk_before_it_returns(tmp_path: Path) -> None:
    """Issue 14, defect 5: 100 commits showed no fsync at all (WAL with synchronous
    NORMAL): a power cut could lose acknowledged messages. Counted with strace."""
    appends, _ = syncs_traced(tmp_path)
    assert appends >= 20


def test_deleting_what_a_store_took_waits_for_no_fsync(tmp_path: Path) -> None:
    """A deletion lost to a power cut only sends points again (they are idempotent), so
    the sink's deletions are not synced: on a disk whose fsync takes milliseconds they
    would halve the commits the buffer's thread can make. Counted with strace: 20
    deletions after the appends add almost no fsync."""
    _, deletions = syncs_traced(tmp_path, "    for i in range(20):\n"
                                          "        await b.delete_taken(await b.take(1))\n"
                                          "    assert b.depth == 0\n")
    assert deletions < 5


async def test_an_unwritable_directory_is_a_start_error_naming_it(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        remount(disk, "ro")
        buffer = DurableBuffer(disk / "state" / "b.sqlite", Health("s"))
        with pytest.raises(BufferUnavailable, match=str(disk)):
            await buffer.open()
        await buffer.close()
