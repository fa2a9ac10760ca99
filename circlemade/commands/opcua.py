"""``circlemade opcua browse|make-cert``: see a server's address space, make a client
certificate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from circlemade.commands import Command, tool, tools
from contract.eventlog import describe


def arguments(parser: argparse.ArgumentParser) -> None:
    each = tools(parser)
    browse = tool(each, "browse", "print an OPC UA address space as a tree", run_browse)
    browse.add_argument("endpoint", help="opc.tcp://HOST:PORT/PATH")
    browse.add_argument("--depth", type=int, default=4, help="levels to print (default 4)")
    browse.add_argument("--start", default="", help="browse path from Objects to start at")
    cert = tool(each, "make-cert", "make a client certificate and key", run_make_cert)
    cert.add_argument("--dir", type=Path, required=True,
                      help="directory for client.pem and client.key")
    cert.add_argument("--uri", default="urn:circlemade:edge", help="application URI")


def run_browse(args: argparse.Namespace) -> int:
    from gateways.transports.opcua_browse import browse

    try:
        for line in asyncio.run(browse(args.endpoint, args.depth, args.start)):
            print(line)
    except (OSError, TimeoutError, LookupError) as exc:
        print(f"opcua browse {args.endpoint}: {describe(exc)}", file=sys.stderr)
        return 1
    return 0


def run_make_cert(args: argparse.Namespace) -> int:
    from gateways.transports.opcua_certificates import make_certificate

    cert, key = make_certificate(args.dir, args.uri)
    print(f"certificate {cert}\nprivate key {key} (keep it private)\n"
          f"the server must trust {cert}; put the server's certificate into the "
          "source's security.trust_dir")
    return 0


COMMAND = Command("opcua", "OPC UA tools", arguments)
