"""The ``circlemade`` command line.

    circlemade check-config -c FILE [--offline]   validate a config; exit 0 when good, 2 when not
    circlemade example-config        print the example config, every field documented
    circlemade run -c FILE           run the edge service until SIGTERM or SIGINT
    circlemade decode --profile P --topic T [FILE|-]   what the edge makes of a payload
    circlemade probe PROFILE ENDPOINT [KEY=VALUE ...]  ask a polled device once
    circlemade simulate [--printers N --meters M --cnc K | --scenario F] --broker URL
    circlemade buffer recover FILE -c CONFIG   what a damaged buffer still holds, to InfluxDB
    circlemade demo                  simulators, local servers, service and live view
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib import resources
from importlib.metadata import version as package_version
from pathlib import Path

import orjson

from contract.eventlog import describe, log_event, setup_logging
from edge.config import Config, ConfigError, load_config
from edge.heap import settle_after_start
from gateways.profiles import SOURCE_MODELS

EXIT_BAD_CONFIG = 2
DESCRIPTION = ("circlemade-edge: shop-floor monitoring at the edge. Reads machines and "
               "meters over MQTT and OPC UA, derives energy, material, scrap, jobs and OEE, "
               "and writes them to InfluxDB for Grafana.")
CONFIG_HELP = "the service's config file (TOML)"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BrokenPipeError:  # "| head" has read what it wanted: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def parser() -> argparse.ArgumentParser:
    """The command line, also for tests that check a command exists without running it."""
    parser = argparse.ArgumentParser(
        prog="circlemade", description=DESCRIPTION,
        epilog="'circlemade COMMAND --help' says more about each command.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {package_version('circlemade-edge')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="what to do")

    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("file", type=Path, nargs="?", help="the config file (TOML), or -c")
    check.add_argument("-c", "--config", type=Path, help=CONFIG_HELP + ", as for every command")
    check.add_argument("--offline", action="store_true",
                       help="check without reading the secrets (on a laptop, before install)")

    commands.add_parser("example-config",
                        help="print the example config, every field documented")

    run = commands.add_parser("run", help="run the edge service")
    run.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP)
    run.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"],
                     help="overrides [logging] level of the config")
    run.add_argument("--reset-state", action="store_true",
                     help="start the KPIs afresh, forgetting the stored KPI state (open jobs, "
                          "windows, meter totals); needed when the stored state is refused")

    decode = commands.add_parser("decode", help="decode one payload, print readings as JSON")
    decode.add_argument("--profile", required=True, choices=list(SOURCE_MODELS),
                        help="the payload profile of the source")
    decode.add_argument("--topic", required=True, help="the topic the payload came on")
    decode.add_argument("--machine", default=None, help="machine id when the topic has none")
    decode.add_argument("file", nargs="?", default="-", help="payload file, or - for stdin")

    simulate = commands.add_parser("simulate", help="run simulated devices against a broker")
    simulate.add_argument("--scenario", type=Path, default=None, help="scenario TOML file")
    simulate.add_argument("--printers", type=int, default=2, help="3D printers (default 2)")
    simulate.add_argument("--meters", type=int, default=2,
                          help="smart plugs, in front of the machines first (default 2)")
    simulate.add_argument("--cnc", type=int, default=1, help="CNC routers on Sparkplug B")
    simulate.add_argument("--machine-tools", type=int, default=0,
                          help="machine tools as OPC UA servers (umati-style)")
    simulate.add_argument("--opcua-port", type=int, default=4840,
                          help="port of the first machine tool; the others count up")
    simulate.add_argument("--modbus-meters", type=int, default=0,
                          help="Eastron SDM630 meters read over Modbus TCP (unit ids 1, 2, ...)")
    simulate.add_argument("--prusalink", type=int, default=0,
                          help="Prusa printers answering PrusaLink's HTTP API, on free ports "
                               "(API key from CIRCLEMADE_PRUSALINK_KEY)")
    simulate.add_argument("--mtconnect", type=int, default=0,
                          help="mills behind an MTConnect agent (HTTP), on free ports")
    simulate.add_argument("--modbus-port", type=int, default=None,
                          help="where the Modbus meters answer on 127.0.0.1 (default 5020)")
    simulate.add_argument("--broker", default="mqtt://127.0.0.1:1883",
                          help="mqtt://HOST:PORT to publish to (default %(default)s)")
    simulate.add_argument("--seed", type=int, default=None,
                          help="the same seed gives the same fleet and the same jobs")
    simulate.add_argument("--speed", type=float, default=None,
                          help="simulated seconds per second (60: an hour a minute)")
    simulate.add_argument("--interval", type=float, default=None, help="seconds between messages")
    simulate.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    simulate.add_argument("--steps", type=int, default=None,
                          help="stop after N rounds of messages (the same workload however "
                               "busy the machine is)")
    simulate.add_argument("--print-config", action="store_true",
                          help="print the [[machines]] config that reads this fleet, and exit")

    probe = commands.add_parser(
        "probe", help="ask a polled device once: what came back, what its profile makes of it")
    probe.add_argument("profile", help="a polled profile: prusalink, mtconnect, sdm630, ...")
    probe.add_argument("endpoint", help="as in the config, e.g. http://192.0.2.30 or "
                                        "modbus+tcp://192.0.2.40:502")
    probe.add_argument("settings", nargs="*", metavar="KEY=VALUE",
                       help='the profile\'s other keys as in the config: unit=2, '
                            'api_key_env="PRUSA_KEY"')
    probe.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")

    opcua = commands.add_parser("opcua", help="OPC UA tools")
    opcua_commands = opcua.add_subparsers(dest="opcua_command", required=True,
                                          metavar="TOOL", help="browse or make-cert")
    browse = opcua_commands.add_parser("browse", help="print an OPC UA address space as a tree")
    browse.add_argument("endpoint", help="opc.tcp://HOST:PORT/PATH")
    browse.add_argument("--depth", type=int, default=4, help="levels to print (default 4)")
    browse.add_argument("--start", default="", help="browse path from Objects to start at")
    cert = opcua_commands.add_parser("make-cert", help="make a client certificate and key")
    cert.add_argument("--dir", type=Path, required=True,
                      help="directory for client.pem and client.key")
    cert.add_argument("--uri", default="urn:circlemade:edge", help="application URI")

    tls = commands.add_parser("tls", help="TLS tools")
    tls_commands = tls.add_subparsers(dest="tls_command", required=True, metavar="TOOL",
                                      help="fingerprint")
    fingerprint = tls_commands.add_parser(
        "fingerprint", help="print a TLS server's certificate fingerprint, to pin it "
                            "(tls_fingerprint), e.g. a Bambu printer's broker")
    fingerprint.add_argument("address", help="HOST:PORT, e.g. 192.0.2.80:8883")

    record = commands.add_parser("record", help="write every raw message to a JSON-lines file")
    record.add_argument("-c", "--config", type=Path, required=True,
                        help=CONFIG_HELP + "; its sources are subscribed as the service does")
    record.add_argument("-o", "--output", type=Path, required=True,
                        help="the recording to write (JSON lines)")
    record.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: Ctrl-C)")

    replay = commands.add_parser(
        "replay", help="run a recording through the pipeline",
        description="Decode, normalise and compute the KPIs of a recording exactly as the "
                    "service does, with the recorded times as the clock; from an empty KPI "
                    "state, as a new edge would. Alert points are computed too; a replay "
                    "never sends a notification.")
    replay.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP)
    replay.add_argument("recording", type=Path, help="a file written by 'circlemade record'")
    target = replay.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, default=None, help="line protocol file (- stdout)")
    target.add_argument("--influx", action="store_true", help="write to the config's InfluxDB")

    dashboards = commands.add_parser("dashboards", help="write Grafana dashboards and "
                                     "provisioning files")
    dashboards.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP)
    dashboards.add_argument("-o", "--output", type=Path, required=True,
                            help="directory for the dashboards and provisioning files")
    dashboards.add_argument("--grafana-path", default="/var/lib/grafana/dashboards/circlemade",
                            help="where Grafana will find the dashboard JSON files")

    report = commands.add_parser("report", help="the monthly circularity report (PDF or "
                                 "HTML) with its CSV and product footprint export")
    report.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP)
    report.add_argument("--month", required=True, type=_month, help="the month, e.g. 2026-11")
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--site", default=None, help="this site (default: the config's own)")
    scope.add_argument("--cluster", action="store_true",
                       help="every member of [cluster] sites, side by side")
    report.add_argument("-o", "--output", type=Path, required=True,
                        help="report.pdf or report.html; the export goes to report-export/")
    report.add_argument("--from-recording", type=Path, default=None,
                        help="compute from this recording through the edge's pipeline "
                             "instead of reading a store")
    report.add_argument("--store", default=None,
                        help="read this store of the config (its name; default [influx])")

    buffer = commands.add_parser("buffer", help="the durable buffer's tools")
    buffer_commands = buffer.add_subparsers(dest="buffer_command", required=True,
                                            metavar="TOOL", help="recover")
    recover = buffer_commands.add_parser(
        "recover", help="write what a damaged buffer file still holds to InfluxDB")
    recover.add_argument("file", type=Path, help="e.g. the <name>.damaged-<time> file the "
                         "service set aside")
    recover.add_argument("-c", "--config", type=Path, required=True,
                         help="the config whose InfluxDB receives the points")
    recover.add_argument("--out", type=Path, default=None,
                         help="write line protocol to this file (- stdout) instead")

    alerts = commands.add_parser("alerts", help="the alert rules' tools")
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True,
                                           metavar="TOOL", help="test")
    test = alert_commands.add_parser("test", help="send one test message to every target "
                                     "of every [[alerts]] rule, and say which worked")
    test.add_argument("-c", "--config", type=Path, required=True, help=CONFIG_HELP)

    status = commands.add_parser("status", help="what the running service's sources do")
    status.add_argument("-c", "--config", type=Path, required=True,
                        help=CONFIG_HELP + " (only its buffer path is read)")

    demo = commands.add_parser("demo", help="the whole trip on this machine, nothing configured")
    demo.add_argument("--data-dir", type=Path, default=None,
                      help="Mosquitto, InfluxDB, buffer and log "
                           "(default ~/.local/share/circlemade/demo)")
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument("--speed", type=float, default=10.0, help="simulated seconds per second")
    demo.add_argument("--broker", default=None,
                      help="use this broker (mqtt://HOST:PORT) instead of starting Mosquitto")
    demo.add_argument("--influx", default=None,
                      help="use this InfluxDB 1.x (http://HOST:PORT) instead of starting one")
    demo.add_argument("--clean", action="store_true",
                      help="start from an empty data directory instead of reusing it")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        if (args.file is None) == (args.config is None):
            print("check-config: name the config file once: -c FILE (or FILE)",
                  file=sys.stderr)
            return EXIT_BAD_CONFIG
        return _check_config(args.config or args.file, offline=args.offline)
    if args.command == "example-config":
        print(resources.files("circlemade").joinpath("examples/workshop.toml").read_text(),
              end="")
        return 0
    if args.command == "run":
        return _run(args.config, args.log_level, args.reset_state)
    if args.command == "decode":
        return _decode(args.profile, args.topic, args.machine, args.file)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "probe":
        return _probe(args.profile, args.endpoint, args.settings, args.timeout)
    if args.command == "opcua":
        return _opcua(args)
    if args.command in ("record", "replay"):
        return _record_or_replay(args)
    if args.command == "tls":
        return _fingerprint(args.address)
    if args.command == "status":
        from edge.status import read_status, status_path

        config = _load(args.config, secrets=False)  # reads files only: no secrets needed
        if config is None:
            return EXIT_BAD_CONFIG
        code, lines = read_status(status_path(config.buffer_path()), config.health_interval_s,
                                  config.status)
        print("\n".join(lines))
        return code
    if args.command == "report":
        from circlemade.report.command import main as report

        try:
            return report(args.config, args.month, args.output, args.site, args.cluster,
                          args.from_recording, args.store)
        except ConfigError as exc:
            print(f"{exc}\n{args.config}: no report: {len(exc.problems)} problem(s) in the "
                  "config", file=sys.stderr)
            return EXIT_BAD_CONFIG
    if args.command == "buffer":
        return _recover_buffer(args.file, args.config, args.out)
    if args.command == "alerts":
        return _test_alerts(args.config)
    if args.command == "dashboards":
        from dashboards.provisioning import write

        config = _load(args.config, secrets=False)  # files name secrets, never hold them
        if config is None:
            return EXIT_BAD_CONFIG
        for path in write(config, args.output, args.grafana_path):
            print(path)
        return 0
    from circlemade.demo import default_data_dir, run_demo

    data_dir = args.data_dir or default_data_dir()
    if args.clean and data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    try:
        from simulators.simulate_command import parse_broker

        broker = parse_broker(args.broker) if args.broker else None
        return run_demo(data_dir, args.duration, args.speed, broker, args.influx)
    except KeyboardInterrupt:
        return 130


def _month(text: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a month as YYYY-MM, e.g. 2026-11")
    return text


def _load(path: Path, secrets: bool = True) -> Config | None:
    try:
        return load_config(path, secrets=secrets)
    except ConfigError as exc:
        print(f"{exc}\n{path}: not started: {len(exc.problems)} problem(s) in the config",
              file=sys.stderr)
        return None


def _check_config(path: Path, offline: bool = False) -> int:
    config = _load(path, secrets=not offline)
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
          + (" (offline: the secrets were not read)" if offline else ""))
    return 0


def _fingerprint(address: str) -> int:
    from gateways.broker import fetch_fingerprint

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        print(f"{address}: expected HOST:PORT, e.g. 192.0.2.80:8883", file=sys.stderr)
        return 2
    try:
        fingerprint, subject = fetch_fingerprint(host, int(port))
    except OSError as exc:
        print(f"{address}: {exc}", file=sys.stderr)
        return 1
    print(f"{address}: {subject}\ntls_fingerprint = \"{fingerprint}\"")
    return 0


def _record_or_replay(args: argparse.Namespace) -> int:
    from edge import recording

    config = _load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    if args.command == "record":
        setup_logging("warning")
        count = asyncio.run(recording.record(config, args.output, args.duration))
        print(f"recorded {count} messages to {args.output}", file=sys.stderr)
        return 0
    setup_logging("warning", sys.stderr, fmt="text")  # bad input: what, where, when
    settle_after_start()
    try:
        if args.influx:
            lines = recording.Replayer(config).lines(recording.read_records(args.recording))
            count = asyncio.run(recording.replay_to_influx(config, lines))
            print(f"replayed {args.recording}: {count} points written to {config.influx.url}",
                  file=sys.stderr)
        elif args.out is None or str(args.out) == "-":
            count = recording.replay_to_file(config, args.recording, sys.stdout)
        else:
            with args.out.open("w") as out:
                count = recording.replay_to_file(config, args.recording, out)
            print(f"replayed {args.recording}: {count} lines in {args.out}", file=sys.stderr)
    except BrokenPipeError:
        raise
    except (OSError, recording.RecordingError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    return 0


def _recover_buffer(path: Path, config_path: Path, out: Path | None) -> int:
    from edge import recording
    from edge.buffer_recovery import NothingToRecover, Recovery, recovered_lines

    config = _load(config_path)
    if config is None:
        return EXIT_BAD_CONFIG
    recovery = Recovery()
    lines = recovered_lines(path, recovery)
    try:
        if out is None:
            setup_logging("warning")
            written = asyncio.run(recording.replay_to_influx(config, lines))
            target = f"written to {config.influx.url}: {written}"
        else:
            with (sys.stdout if str(out) == "-" else out.open("w")) as file:
                for line in lines:
                    file.write(line + "\n")
            target = f"in {out}"
    except (OSError, NothingToRecover) as exc:
        print(f"buffer recover: {path}: {exc}", file=sys.stderr)
        return 1
    print(f"buffer recover: {path}: {recovery.chunks_read} chunks read, "
          f"{recovery.chunks_unreadable} unreadable; {recovery.points} points; {target}",
          file=sys.stderr)
    return 0


def _opcua(args: argparse.Namespace) -> int:
    if args.opcua_command == "make-cert":
        from gateways.opcua_certificates import make_certificate

        cert, key = make_certificate(args.dir, args.uri)
        print(f"certificate {cert}\nprivate key {key} (keep it private)\n"
              f"the server must trust {cert}; put the server's certificate into the "
              "source's security.trust_dir")
        return 0
    from gateways.opcua_browse import browse

    try:
        for line in asyncio.run(browse(args.endpoint, args.depth, args.start)):
            print(line)
    except (OSError, TimeoutError, LookupError) as exc:
        print(f"opcua browse {args.endpoint}: {describe(exc)}", file=sys.stderr)
        return 1
    return 0


def _simulate(args: argparse.Namespace) -> int:
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


def _decode(profile: str, topic: str, machine: str | None, file: str) -> int:
    from edge.inspect_payload import InspectError, as_json_line, decode_payload

    try:
        payload = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        print(f"decode: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        readings, warning = decode_payload(profile, topic, payload, machine)
    except InspectError as exc:
        print(f"decode: {exc}", file=sys.stderr)
        return 1
    for reading in readings:
        print(as_json_line(reading))
    if warning:
        print(f"decode: warning: {warning}", file=sys.stderr)
    return 0


def _probe(profile: str, endpoint: str, settings: list[str], timeout_s: float) -> int:
    from edge.inspect_payload import as_json_line
    from edge.probe import ProbeError, probe, source_of

    try:
        source = source_of(profile, endpoint, settings)
    except ProbeError as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    setup_logging("warning", sys.stderr, fmt="text")  # what the device answered instead
    found = asyncio.run(probe(source, timeout_s))
    print(f"{profile} at {endpoint}: {len(found.answers)} answer(s)")
    for key, value in found.answers:
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        print(f"  {key}: {shown[:300]}" + (" ..." if len(shown) > 300 else ""))
    print(f"what the {profile} profile makes of it: {len(found.readings)} reading(s)")
    for reading in found.readings:
        print("  " + as_json_line(reading))
    if found.failed:
        print(f"probe: no usable answer from {endpoint} within {timeout_s:g} s "
              "(the warnings above say what the device did)", file=sys.stderr)
        return 1
    return 0


def _test_alerts(path: Path) -> int:
    from edge.notifier import send_test

    config = _load(path)
    if config is None:
        return EXIT_BAD_CONFIG
    results = send_test(config)
    for where, went in results:
        print(f"{where}: {'sent' if went else 'NOT SENT'}")
    if not results:
        print("no [[alerts]] rule has a target (notify, notify_env, notify_file)")
    return 0 if results and all(went for _, went in results) else 1


def _run(path: Path, log_level: str | None, reset_state: bool = False) -> int:
    setup_logging(log_level or "info")
    config = _load(path)
    if config is None:
        return EXIT_BAD_CONFIG
    setup_logging(log_level or config.logging.level, fmt=config.logging.format)
    os.umask(0o077)  # buffer, dead letters (payloads verbatim) and status: the service's own
    from edge.buffer import BufferUnavailable
    from edge.kpi.memory import StateRefused
    from edge.service import EdgeService, stop_event
    from edge.terminal import TerminalUnavailable

    async def serve() -> None:
        service = EdgeService(config, reset_state=reset_state)
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


if __name__ == "__main__":
    sys.exit(main())
