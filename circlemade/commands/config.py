"""``circlemade config show -c FILE``: the config as the service takes it, every default
filled in, in TOML; where a secret comes from is shown, its value never (the config holds
none), and a ``*_env`` that looks like a pasted secret is masked too."""

from __future__ import annotations

import argparse
from typing import Any

import tomli_w

from circlemade.commands import Command, tool, tools
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load
from contract.secrets import shown_variable

MASKED = "(masked)"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(tool(tools(parser), "show", "print the effective config, defaults filled in, "
                                           "secrets masked", run_show))


def run_show(args: argparse.Namespace) -> int:
    config = load(args.config, secrets=False)  # where secrets come from, never their values
    if config is None:
        return EXIT_BAD_CONFIG
    print(tomli_w.dumps(effective(config.model_dump(mode="json"))), end="")
    return 0


def effective(node: Any) -> Any:
    """The dumped config as TOML can hold it (no nulls), each secret's place masked where
    it does not look like a variable's name."""
    if isinstance(node, dict):
        return {key: _secret_place(key, value) if key.endswith("_env") else effective(value)
                for key, value in node.items() if value is not None}
    if isinstance(node, list):
        return [effective(item) for item in node if item is not None]
    return node


def _secret_place(key: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_secret_place(key, item) for item in value]
    return value if shown_variable(str(value)) == value else MASKED


COMMAND = Command("config", "the config's tools: show", arguments)
