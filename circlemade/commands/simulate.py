"""``circlemade simulate``: simulated devices speaking the real protocols to a broker."""

from __future__ import annotations

import argparse
from pathlib import Path

from circlemade.commands import Command


def arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--scenario", type=Path, default=None, help="scenario TOML file")
    add("--printers", type=int, default=2, help="3D printers (default 2)")
    add("--meters", type=int, default=2,
        help="smart plugs, in front of the machines first (default 2)")
    add("--cnc", type=int, default=1, help="CNC routers on Sparkplug B")
    add("--machine-tools", type=int, default=0,
        help="machine tools as OPC UA servers (umati-style)")
    add("--opcua-port", type=int, default=4840,
        help="port of the first machine tool; the others count up")
    add("--modbus-meters", type=int, default=0,
        help="Eastron SDM630 meters read over Modbus TCP (unit ids 1, 2, ...)")
    add("--prusalink", type=int, default=0,
        help="Prusa printers answering PrusaLink's HTTP API, on free ports (API key from "
             "CIRCLEMADE_PRUSALINK_KEY)")
    add("--mtconnect", type=int, default=0,
        help="mills behind an MTConnect agent (HTTP), on free ports")
    add("--modbus-port", type=int, default=None,
        help="where the Modbus meters answer on 127.0.0.1 (default 5020)")
    add("--broker", default="mqtt://127.0.0.1:1883",
        help="mqtt://HOST:PORT to publish to (default %(default)s)")
    add("--seed", type=int, default=None,
        help="the same seed gives the same fleet and the same jobs")
    add("--speed", type=float, default=None,
        help="simulated seconds per second (60: an hour a minute)")
    add("--interval", type=float, default=None, help="seconds between messages")
    add("--duration", type=float, default=None, help="stop after N seconds")
    add("--steps", type=int, default=None,
        help="stop after N rounds of messages (the same workload however busy the machine is)")
    add("--print-config", action="store_true",
        help="print the [[machines]] config that reads this fleet, and exit")


def run(args: argparse.Namespace) -> int:
    from simulators import simulate_command
    from simulators.fleet import Fleet

    scenario = simulate_command.load_scenario(
        args.scenario, (args.printers, args.meters, args.cnc, args.machine_tools,
                        args.opcua_port, args.modbus_meters, args.prusalink, args.mtconnect),
        {"seed": args.seed, "speed": args.speed, "interval_s": args.interval,
         "modbus_port": args.modbus_port})
    if args.print_config:
        print(simulate_command.machines_toml(Fleet(scenario)), end="")
        return 0
    return simulate_command.run(scenario, args.broker, args.duration, args.steps)


COMMAND = Command("simulate", "run simulated devices against a broker", arguments, run)
