"""One documentation page per payload profile, from the profile modules' own docstrings,
so the pages cannot drift from the code: ``python -m gateways.profile_docs docs/profiles``
writes them, and a test checks they are current."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from gateways.profiles import PROFILES
from gateways.profiles.base import MqttSourceBase


def page(profile: str) -> str:
    declared = PROFILES[profile]
    module = importlib.import_module(declared.module)
    doc = (module.__doc__ or "").strip()
    title, _, body = doc.partition("\n")
    path = declared.module.replace(".", "/") + ".py"
    if issubclass(declared.model, MqttSourceBase):
        tool = f"try it with `circlemade decode --profile {profile} --topic TOPIC FILE`"
    else:
        tool = (f"its gateway reads it (transport `{declared.model.transport}`); "
                "`circlemade record` and `replay` take it value by value")
    return (f"# Profile `{profile}`\n\n{title}\n{body}\n\n"
            f"Source: [`{path}`](../../{path}); {tool}.\n")


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for profile in PROFILES:
        path = folder / f"{profile}.md"
        path.write_text(page(profile))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/profiles")):
        print(path)
