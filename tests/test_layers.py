"""The import layers of pyproject.toml's ``[tool.importlinter]``: circlemade (the command,
demo, previews) > simulators | dashboards > edge > gateways > contract. An import that
runs back up fails here, with import-linter's account of the chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_imports_run_one_way_down_the_layers() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(linter), "--no-cache"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout
