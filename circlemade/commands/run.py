"""``circlemade run -c FILE``: the edge service, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load
from contract.eventlog import describe, log_event, setup_logging
from edge.service.heap import settle_after_start


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--log-level", default=None,
                        choices=["debug", "info", "warning", "error"],
                        help="overrides [logging] level of the config")
    parser.add_argument("--reset-state", action="store_true",
                        help="start the KPIs afresh, forgetting the stored KPI state (open "
                             "jobs, windows, meter totals); needed when the stored state is "
                             "refused")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "info")
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    setup_logging(args.log_level or config.logging.level, fmt=config.logging.format)
    os.umask(0o077)  # buffer, dead letters (payloads verbatim) and status: the service's own
    from edge.pipeline.kpi.memory import StateRefused
    from edge.service.wiring import EdgeService, stop_event
    from edge.storage.buffer_file import BufferUnavailable
    from edge.terminal.app import TerminalUnavailable

    async def serve() -> None:
        service = EdgeService(config, reset_state=args.reset_state)
        settle_after_start()
        await service.run(stop_event())

    try:
        asyncio.run(serve())
    except (BufferUnavailable, StateRefused, TerminalUnavailable) as exc:
        log_event("service.cannot_start", 50, error=str(exc))
        print(f"circlemade run: not started: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        log_event("service.crashed", 50, error=describe(exc))
        raise
    return 0


COMMAND = Command("run", "run the edge service", arguments, run)
