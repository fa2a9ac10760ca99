"""``circlemade tls fingerprint HOST:PORT``: a server's certificate, to pin it."""

from __future__ import annotations

import argparse
import sys

from circlemade.commands import Command, tool, tools
from circlemade.commands.config_file import EXIT_BAD_CONFIG


def arguments(parser: argparse.ArgumentParser) -> None:
    fingerprint = tool(tools(parser), "fingerprint",
                       "print a TLS server's certificate fingerprint, to pin it "
                       "(tls_fingerprint), e.g. a Bambu printer's broker", run_fingerprint)
    fingerprint.add_argument("address", help="HOST:PORT, e.g. 192.0.2.80:8883")


def run_fingerprint(args: argparse.Namespace) -> int:
    from gateways.broker import fetch_fingerprint

    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        print(f"{args.address}: expected HOST:PORT, e.g. 192.0.2.80:8883", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        fingerprint, subject = fetch_fingerprint(host, int(port))
    except OSError as exc:
        print(f"{args.address}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.address}: {subject}\ntls_fingerprint = \"{fingerprint}\"")
    return 0


COMMAND = Command("tls", "TLS tools", arguments)
