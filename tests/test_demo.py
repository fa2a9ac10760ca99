"""The README's demo command, as a user runs it, for a few seconds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_demo_shows_data_arriving_in_influxdb(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "demo", "--duration", "8", "--data-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "started Mosquitto on 127.0.0.1:" in out
    final = out[out.index("stopped; final contents of InfluxDB"):]
    for machine in ("printer-1", "printer-2", "cnc-1", "mill-1"):
        assert re.search(rf"^{machine}\s+(running|idle|stopped|fault)\s+", final, re.M), final
    stored = int(re.search(r"points stored in the last 15 min.*: (\d+)", final).group(1))  # type: ignore[union-attr]
    written = int(re.search(r"points written: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert stored > 20 and written >= stored
    assert "decode errors: 0" in out
    assert (tmp_path / "edge.log").read_text().count('"event":"service.started"') == 1
