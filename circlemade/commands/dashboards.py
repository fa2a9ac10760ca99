"""``circlemade dashboards -c FILE -o DIR``: Grafana dashboards and provisioning files."""

from __future__ import annotations

import argparse
from pathlib import Path

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="directory for the dashboards and provisioning files")
    parser.add_argument("--grafana-path", default="/var/lib/grafana/dashboards/circlemade",
                        help="where Grafana will find the dashboard JSON files")


def run(args: argparse.Namespace) -> int:
    from dashboards.provisioning import write

    config = load(args.config, secrets=False)  # files name secrets, never hold them
    if config is None:
        return EXIT_BAD_CONFIG
    for path in write(config, args.output, args.grafana_path):
        print(path)
    return 0


COMMAND = Command("dashboards", "write Grafana dashboards and provisioning files",
                  arguments, run)
