"""The import layers of pyproject.toml's ``[tool.importlinter]``: bench > circlemade (the
commands, demo, previews) > simulators | dashboards > edge > gateways > contract; inside
edge, its rooms: tools > service > terminal > pipeline > storage; the dashboards import
no part of the edge; and no circle between
the modules of one package. An import that runs back up fails here, with
import-linter's account of the chain."""

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
    assert "4 kept, 0 broken" in done.stdout


def test_every_exception_of_ours_is_under_the_project_base() -> None:
    """One tree (contract/errors.py): each exception class defined in our packages derives
    from CirclemadeError, so a caller can tell ours from a library's."""
    import importlib
    import inspect
    import pkgutil

    from contract.errors import CirclemadeError

    strays = []
    for root in ("contract", "gateways", "edge", "dashboards", "simulators", "circlemade"):
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, f"{root}."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            strays += [f"{info.name}.{name}" for name, value in vars(module).items()
                       if inspect.isclass(value) and issubclass(value, BaseException)
                       and value.__module__ == info.name
                       and not issubclass(value, CirclemadeError)]
    assert strays == []
