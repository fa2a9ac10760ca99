"""One documentation page per payload profile, from the profile modules' own docstrings,
so the pages cannot drift from the code: ``python -m gateways.profiles.docs docs/profiles``
writes them, and a test checks they are current."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

MODULES = {"bambu": "bambu", "octoprint": "octoprint", "moonraker": "moonraker",
           "tasmota": "tasmota", "shelly": "shelly", "sparkplug_b": "sparkplug_b",
           "json": "generic_json", "umati": "umati", "opcua": "opcua_nodes"}


def page(profile: str) -> str:
    module = importlib.import_module(f"gateways.profiles.{MODULES[profile]}")
    doc = (module.__doc__ or "").strip()
    title, _, body = doc.partition("\n")
    return (f"# Profile `{profile}`\n\n{title}\n{body}\n\n"
            f"Source: [`gateways/profiles/{MODULES[profile]}.py`]"
            f"(../../gateways/profiles/{MODULES[profile]}.py); try it with "
            f"`circlemade decode --profile {profile} --topic TOPIC FILE`"
            f"{'' if profile not in ('umati', 'opcua') else ' (MQTT profiles only)'}.\n")


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for profile in MODULES:
        path = folder / f"{profile}.md"
        path.write_text(page(profile))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/profiles")):
        print(path)
