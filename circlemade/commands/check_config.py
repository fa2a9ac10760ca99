"""``circlemade check-config -c FILE [--offline]``: every problem of a config, by field."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from circlemade.commands import Command
from circlemade.commands.config_file import CONFIG_HELP, EXIT_BAD_CONFIG, load


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, nargs="?", help="the config file (TOML), or -c")
    parser.add_argument("-c", "--config", type=Path,
                        help=CONFIG_HELP + ", as for every command")
    parser.add_argument("--offline", action="store_true",
                        help="check without reading the secrets (on a laptop, before install)")


def run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.config is None):
        print("check-config: name the config file once: -c FILE (or FILE)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    path: Path = args.config or args.file
    config = load(path, secrets=not args.offline)
    if config is None:
        return EXIT_BAD_CONFIG
    sources = sum(len(m.sources) for m in config.machines)
    for index, broker in enumerate(config.brokers):
        if not broker.tls_verify:
            print(f"{path}: warning: brokers[{index}].tls_verify: false: the broker's "
                  "certificate is not checked, anyone on the network can pose as it; pin "
                  "it instead: circlemade tls fingerprint HOST:PORT", file=sys.stderr)
    print(f"{path}: ok: site {config.site.id!r}, {len(config.machines)} machines, "
          f"{sources} sources, {len(config.brokers)} broker(s), "
          f"InfluxDB {config.influx.api} at {config.influx.url}"
          + (" (offline: the secrets were not read)" if args.offline else ""))
    return 0


COMMAND = Command("check-config", "validate a config file", arguments, run)
