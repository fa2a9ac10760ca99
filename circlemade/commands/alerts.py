"""``circlemade alerts test``: one test message to every target of every alert rule."""

from __future__ import annotations

import argparse

from circlemade.commands import Command, tool, tools
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(tool(tools(parser), "test", "send one test message to every target of every "
                                           "[[alerts]] rule, and say which worked", run_test))


def run_test(args: argparse.Namespace) -> int:
    from edge.service.notifier import send_test

    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    results = send_test(config)
    for where, went in results:
        print(f"{where}: {'sent' if went else 'NOT SENT'}")
    if not results:
        print("no [[alerts]] rule has a target (notify, notify_env, notify_file)")
    return 0 if results and all(went for _, went in results) else 1


COMMAND = Command("alerts", "the alert rules' tools", arguments)
