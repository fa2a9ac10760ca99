"""``circlemade report``: the monthly circularity report and its export
(circlemade/report/)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config
from edge.service.config_problems import ConfigError


def month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a month as YYYY-MM, e.g. 2026-11")
    return text


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--month", required=True, type=month, help="the month, e.g. 2026-11")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--site", default=None, help="this site (default: the config's own)")
    scope.add_argument("--cluster", action="store_true",
                       help="every member of [cluster] sites, side by side")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="report.pdf or report.html; the export goes to report-export/")
    parser.add_argument("--from-recording", type=Path, default=None,
                        help="compute from this recording through the edge's pipeline "
                             "instead of reading a store")
    parser.add_argument("--store", default=None,
                        help="read this store of the config (its name; default [influx])")


def run(args: argparse.Namespace) -> int:
    from circlemade.report.command import main as report

    try:
        return report(args.config, args.month, args.output, args.site, args.cluster,
                      args.from_recording, args.store)
    except ConfigError as exc:
        print(f"{exc}\n{args.config}: no report: {len(exc.problems)} problem(s) in the "
              "config", file=sys.stderr)
        return EXIT_BAD_CONFIG


COMMAND = Command("report", "the monthly circularity report (PDF or HTML) with its CSV and "
                            "product footprint export", arguments, run)
