"""Config validation: a good file passes, each kind of bad file names its field."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from circlemade.cli import main
from edge.service.config import load_config, parse_config
from edge.service.config_problems import ConfigError
from tests.conftest import EXAMPLE, REPO

GOOD = """
[site]
id = "atelier"

[[brokers]]
id = "main"
port = 1883

[influx]
api = "v1"
url = "http://127.0.0.1:8086"

[[machines]]
id = "p1"
kind = "printer"
  [[machines.sources]]
  topic = "a/p1"
  profile = "json"
  fields = [{ path = "t", signal = "nozzle_temp_c" }]

[[machines]]
id = "p2"
kind = "printer"
  [[machines.sources]]
  topic = "a/p2"
  profile = "json"
  fields = [{ path = "t", signal = "nozzle_temp_c" }]

[[machines]]
id = "c1"
kind = "cnc"
  [[machines.sources]]
  topic = "a/c1"
  profile = "json"
  fields = [{ path = "rpm", signal = "spindle_speed_rpm", unit = "rpm" }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workshop.toml"
    path.write_text(text)
    return path


def test_the_shipped_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert [m.kind for m in config.machines].count("printer") == 2
    assert any(m.kind == "cnc" for m in config.machines)
    assert any(getattr(s, "meter", None) for m in config.machines for s in m.sources)


def test_good_config_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(write(tmp_path, GOOD))]) == 0
    assert "ok: site 'atelier', 3 machines" in capsys.readouterr().out


BAD = [
    pytest.param(("port = 1883", 'port = "eighteen"'), "brokers[0].port",
                 "valid integer", id="wrong-type"),
    pytest.param(('id = "atelier"', 'name = "no id"'), "site.id",
                 "required field is missing", id="missing-required"),
    pytest.param(('profile = "json"\n  fields = [{ path = "rpm"',
                  'profile = "fanuc"\n  fields = [{ path = "rpm"'),
                 "machines[2].sources[0].profile",
                 "unknown payload profile; expected one of: airgradient, bambu, dsmr, esphome",
                 id="unknown-profile"),
    pytest.param(('id = "p2"', 'id = "p1"'), "machines[1].id",
                 "duplicate id; machines[0] has the same", id="duplicate-machine"),
    pytest.param(('topic = "a/c1"', 'topic = "a/#/c1"'), "machines[2].sources[0].topic",
                 "'#' must be a whole level and the last one", id="bad-topic"),
    pytest.param(('unit = "rpm"', 'unit = "kg"'), "machines[2].sources[0].fields[0]",
                 "cannot convert 'kg' to 'rpm'", id="incompatible-unit"),
    pytest.param(('signal = "spindle_speed_rpm"', 'signal = "spindle_sped_rpm"'),
                 "machines[2].sources[0].fields[0].signal", "unknown signal", id="unknown-signal"),
    pytest.param(('api = "v1"', 'api = "v1"\ntoken = "s3cr3t"'), "influx.token",
                 "secrets must not be written in the config file", id="literal-secret"),
    pytest.param(('api = "v1"', 'api = "v1"\ntoken_env = "CIRCLEMADE_TEST_UNSET_TOKEN"'),
                 "influx.token_env", "environment variable CIRCLEMADE_TEST_UNSET_TOKEN is not set",
                 id="unset-secret-env"),
    pytest.param(('kind = "cnc"', 'kind = "cnc"\nmodel = "x"'), "machines[2].model",
                 "unknown field", id="unknown-field"),
    pytest.param(('id = "atelier"', 'id = "atelier"\ntimezone = "Europe/Bruxelles"'),
                 "site.timezone", "unknown time zone", id="bad-timezone"),
    pytest.param(('topic = "a/p1"', 'topic = "a/p1"\n  broker = "backup"'),
                 "machines[0].sources[0].broker", "no broker with this id", id="unknown-broker"),
    pytest.param(("[site]", "[site\n"), "", "not valid TOML", id="toml-syntax"),
    pytest.param(('url = "http://127.0.0.1:8086"', 'url = "http://edge:pw@127.0.0.1:8086"'),
                 "influx.url", "credentials must not be written in the URL",
                 id="credentials-in-url"),
    pytest.param(("[site]", "stop_timeout_s = 0\n[site]"), "stop_timeout_s",
                 "greater than 0", id="bad-stop-timeout"),
    pytest.param(("[site]", "[clock]\nmax_ahead_s = -5\n[site]"), "clock.max_ahead_s",
                 "greater than 0", id="bad-clock"),
]


@pytest.mark.parametrize(("change", "field", "expected"), BAD)
def test_bad_config_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], field: str,
    expected: str,
) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {field}" in err
    assert expected in err


def test_literal_secret_value_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('api = "v1"', 'api = "v1"\npassword = "hunter2"'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "hunter2" not in str(caught.value)


def test_credentials_in_the_url_are_never_echoed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace('url = "http://127.0.0.1:8086"',
                                        'url = "http://edge:hunter2@127.0.0.1:8086"'))
    assert main(["check-config", str(path)]) == 2
    assert "hunter2" not in capsys.readouterr().err


def test_status_reads_the_config_without_its_secrets(tmp_path: Path) -> None:
    """Issue 14, defect 7: ``status`` refused to run (exit 2) without the service's
    secrets in its own environment; check-config and run still want them."""
    path = write(tmp_path, GOOD.replace(
        'api = "v1"', 'api = "v1"\ntoken_env = "CIRCLEMADE_TEST_UNSET_TOKEN"').replace(
        "[[machines]]", f'[buffer]\npath = "{tmp_path / "b.sqlite"}"\n\n[[machines]]', 1))
    assert main(["check-config", str(path)]) == 2
    assert main(["status", "-c", str(path)]) == 1  # no status file: not running, not exit 2


def test_secret_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('api = "v1"', 'api = "v2"\ntoken_env = "TEST_TOKEN"'))
    config = load_config(path, environ={"TEST_TOKEN": "abc"})
    assert "abc" not in repr(config)


def test_secret_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    text = GOOD.replace('api = "v1"', f'api = "v2"\ntoken_file = "{secret}"')
    config = load_config(write(tmp_path, text))
    token = config.influx.token()
    assert token is not None and token.get_secret_value() == "from-file"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("port = 1883", "port = 0").replace('id = "p2"', 'id = "p 2"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    paths = [p.path for p in caught.value.problems]
    assert paths == ["brokers[0].port", "machines[1].id"]


def test_run_refuses_a_bad_config_before_starting(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('id = "p2"', 'id = "p1"'))
    result = subprocess.run(
        [sys.executable, "-m", "circlemade.cli", "run", "-c", str(path)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 2
    assert "machines[1].id: duplicate id" in result.stderr
    assert "service.started" not in result.stderr


def test_the_example_config_shows_every_field() -> None:
    """The example config is the reference a workshop copies: every field of every
    table the config can hold (docs/config.md) is there, set or commented."""
    from edge.tools.config_reference import _models, sections

    text = (EXAMPLE).read_text()
    keys = set(re.findall(r"(?:^|[\s#{,])([a-z0-9_]+)\s*=", text, re.MULTILINE))
    tables = set(re.findall(r"^\s*#?\s*\[\[?(?:[a-z_]+\.)*([a-z_]+)\]", text, re.MULTILINE))
    missing = [f"{table or 'top level'}: {name}" for table, model in sections()
               for name in model.model_fields if name not in keys | tables]
    assert missing == []
    assert all(next(_models(f.annotation), None) is not None or f.description
               or name == "profile"
               for _, model in sections() for name, f in model.model_fields.items())


def test_the_config_reference_is_current() -> None:
    from edge.tools.config_reference import reference

    assert (REPO / "docs" / "config.md").read_text() == reference(), (
        "stale: run python -m edge.tools.config_reference > docs/config.md")


def test_the_terminal_needs_a_pin_and_the_operator_broker(tmp_path: Path) -> None:
    base = {"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
            "machines": [{"id": "m", "kind": "printer", "sources": [
                {"topic": "t", "profile": "json"}]}]}
    with pytest.raises(ConfigError, match="terminal.pin_env: the terminal needs a PIN"):
        parse_config({**base, "terminal": {"listen": "127.0.0.1:8480"}})
    with pytest.raises(ConfigError, match="terminal.listen: the terminal publishes to"):
        parse_config({**base, "operator": {"enabled": False}, "terminal": {
            "listen": "127.0.0.1:8480", "pin_env": "PIN"}}, environ={"PIN": "1"})
    with pytest.raises(ConfigError, match="terminal.pin_env: environment variable PIN"):
        parse_config({**base, "terminal": {"listen": "127.0.0.1:8480", "pin_env": "PIN"}},
                     environ={})


def test_a_terminal_address_in_use_stops_the_start_naming_it(tmp_path: Path) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = tmp_path / "edge.toml"
    config.write_text(f"""
[site]
id = "s"
[influx]
api = "v1"
url = "http://127.0.0.1:9"
[buffer]
path = "{tmp_path / 'buffer.sqlite'}"
[terminal]
listen = "127.0.0.1:{port}"
pin_env = "PIN"
[[machines]]
id = "m"
kind = "printer"
  [[machines.sources]]
  topic = "t"
  profile = "json"
""")
    try:
        result = subprocess.run([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                                capture_output=True, text=True, timeout=60, cwd=REPO,
                                env={**os.environ, "PIN": "123456"})
    finally:
        taken.close()
    assert result.returncode == 1
    assert f"not started: [terminal] listen = '127.0.0.1:{port}'" in result.stderr


@pytest.mark.parametrize("pin", ["", "   ", "4711", "12345"])
def test_an_empty_or_short_terminal_pin_stops_the_start(tmp_path: Path, pin: str) -> None:
    secret = tmp_path / "pin"
    secret.write_text(pin)
    base = {"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
            "brokers": [{"id": "main"}], "machines": [{"id": "m", "kind": "printer",
                                                      "sources": [{"topic": "t",
                                                                   "profile": "json"}]}]}
    for place, environ in (({"pin_env": "PIN"}, {"PIN": pin}), ({"pin_file": str(secret)}, {})):
        with pytest.raises(ConfigError, match="terminal.pin_(env|file): a PIN of at least 6"
                           ) as raised:
            parse_config({**base, "terminal": {"listen": "127.0.0.1:8480", **place}},
                         environ=environ)
        assert not pin.strip() or pin not in str(raised.value)
    parse_config({**base, "terminal": {"listen": "127.0.0.1:8480", "pin_env": "PIN"}},
                 environ={"PIN": "471108"})


def test_no_broker_is_assumed_without_an_mqtt_source() -> None:
    """An edge with only HTTP sources connects to no broker, so its health is not held
    down for ever by a broker nobody configured; with an MQTT source the default stays."""
    from edge.service.wiring import EdgeService

    http_only = parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": "mk4", "kind": "printer", "sources": [
            {"profile": "prusalink", "endpoint": "http://127.0.0.1:9",
             "api_key_env": "KEY"}]}]}, environ={"KEY": "k"})
    assert http_only.brokers == [] and not http_only.operator_input()
    assert EdgeService(http_only).gateways == []
    mqtt = parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "t", "profile": "json"}]}]})
    assert [b.id for b in mqtt.brokers] == ["main"] and mqtt.operator_input()


def test_qos_2_is_refused_with_its_reason() -> None:
    base = {"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"}}
    source = {"topic": "t", "profile": "json"}
    for config in ({**base, "brokers": [{"id": "main", "qos": 2}],
                    "machines": [{"id": "m", "kind": "printer", "sources": [source]}]},
                   {**base, "machines": [{"id": "m", "kind": "printer",
                                          "sources": [{**source, "qos": 2}]}]}):
        with pytest.raises(ConfigError, match=r"qos: QoS 2 is not taken: .* before the "
                                              r"buffer's commit.* \(got 2\)"):
            parse_config(config)


def test_check_config_knows_what_a_bambu_printer_needs() -> None:
    """A wildcard topic cannot ask for the full report; the printer's own broker needs
    its login and a way to trust its certificate, which no system CA signs."""
    base = {"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"}}

    def problems(topic: str, broker: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as raised:
            parse_config({**base, "brokers": [{"id": "x1c", **broker}], "machines": [
                {"id": "p", "kind": "printer", "sources": [
                    {"profile": "bambu", "topic": topic, "broker": "x1c"}]}]},
                environ={"CODE": "12345678"})
        return str(raised.value)

    said = problems("device/+/report", {})
    assert "machines[0].sources[0].topic: name the printer: device/<serial>/report" in said
    said = problems("device/00M09A350100123/report", {"host": "192.0.2.7", "port": 8883,
                                                      "tls": True})
    assert 'needs username = "bblp" and password_env' in said
    assert "give ca_file, or pin tls_fingerprint" in said
    parse_config({**base, "brokers": [{
        "id": "x1c", "port": 8883, "tls": True, "username": "bblp", "password_env": "CODE",
        "tls_fingerprint": "sha256:" + "ab" * 32}], "machines": [
        {"id": "p", "kind": "printer", "sources": [
            {"profile": "bambu", "topic": "device/00M09A350100123/report", "broker": "x1c"}]}]},
        environ={"CODE": "12345678"})


def test_addresses_are_checked_with_words_not_regular_expressions() -> None:
    """The addresses a technician gets wrong (seen in the field), each refused with what is
    wrong and what a right one looks like."""
    raw = {"site": {"id": "s", "country": "be"},
           "influx": {"api": "v1", "url": "http://host:80:80"},
           "brokers": [{"host": "mqtts://broker.lan"}],
           "terminal": {"listen": "0.0.0.0:99999", "pin_env": "PIN"},
           "machines": [{"id": "m x", "kind": "meter", "sources": [
               {"profile": "sdm630", "endpoint": "modbus+rtu:///dev/ttyUSB0?baudrate=960O"},
               {"profile": "sdm630", "endpoint": "modbus+tcp://meter.lan:50 2"},
               {"profile": "prusalink", "endpoint": "http://mk4.lan/api/v1",
                "api_key_env": "KEY"},
               {"profile": "mtconnect", "endpoint": "ftp://agent.lan"},
               {"profile": "umati", "endpoint": "opc.tcp://mill.lan:48400x"}]}]}
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, secrets=False)
    said = {p.path: p.message for p in refused.value.problems}
    assert said == {
        "site.country": "expected two capital letters (ISO 3166), like BE",
        "machines[0].id": "expected an id: letters, digits, '_', '.' and '-', starting with "
                          "a letter or digit, at most 64",
        "influx.url": "'80:80' is not a port (1 to 65535); like http://192.0.2.10:8086",
        "brokers[0].host": "a host name or address, not a URL: the port goes in port, TLS in "
                           "tls = true; like host = \"broker.lan\"",
        "terminal.listen": "'99999' is not a port (1 to 65535); like 127.0.0.1:8480 or "
                           "0.0.0.0:8480",
        "machines[0].sources[0].endpoint": "baudrate = '960O' is not one of 1200, 2400, "
                                           "4800, 9600, 19200, 38400, 57600, 115200",
        "machines[0].sources[1].endpoint": "a URL has no spaces; like "
                                           "modbus+tcp://192.0.2.40:502",
        "machines[0].sources[2].endpoint": "give the address only, without a path; like "
                                           "http://192.0.2.30",
        "machines[0].sources[3].endpoint": "expected a URL starting with http:// or https://"
                                           "; like http://192.0.2.60:5000",
        "machines[0].sources[4].endpoint": "'48400x' is not a port (1 to 65535); like "
                                           "opc.tcp://192.0.2.50:4840",
    }
    assert not any("^" in str(p) or "pattern" in str(p) for p in refused.value.problems)
