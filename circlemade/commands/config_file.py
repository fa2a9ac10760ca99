"""What every command that reads a config shares: the ``-c`` option, and loading it with
each problem printed and the exit code of a bad config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.service.config import Config, load_config
from edge.service.config_problems import ConfigError

EXIT_BAD_CONFIG = 2
CONFIG_HELP = "the service's config file (TOML)"


def add_config(parser: argparse.ArgumentParser, more: str = "") -> None:
    parser.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP + more)


def load(path: Path, secrets: bool = True) -> Config | None:
    """The config, or None after printing its problems (the caller exits 2)."""
    try:
        return load_config(path, secrets=secrets)
    except ConfigError as exc:
        print(f"{exc}\n{path}: not started: {len(exc.problems)} problem(s) in the config",
              file=sys.stderr)
        return None
