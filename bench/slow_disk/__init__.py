"""A disk whose fsync takes milliseconds (an SD card, a small SSD): an ``LD_PRELOAD``
shim (slow_fsync.c) that waits ``SLOW_FSYNC_MS`` before each ``fsync`` and ``fdatasync``
of the process it is loaded into. Chosen over a device-mapper delay target (root and a
block device) and a FUSE layer (a file system of its own): it slows exactly the
contender's syncs, and nothing else on the machine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("slow_fsync.c")


def shim(folder: Path) -> Path:
    """The shim built into ``folder`` (once); needs a C compiler."""
    built = folder / "slow_fsync.so"
    if not built.exists():
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise RuntimeError("slow disk: no C compiler (apt-get install gcc)")
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(SOURCE),
                        "-ldl"], check=True)
    return built


def environment(folder: Path, fsync_ms: int) -> dict[str, str]:
    """What a process needs in its environment to sync as slowly as that."""
    return {"LD_PRELOAD": str(shim(folder)), "SLOW_FSYNC_MS": str(fsync_ms)}
