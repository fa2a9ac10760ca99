"""The command line as a person meets it: help for every option, no markup, a quiet end
when the reader of a pipe has had enough, and bad input in a replay said with what,
where and when."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from circlemade.cli import main, parser
from tests.conftest import EXAMPLE, REPO


def every_parser(root: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [root]
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += every_parser(child)
    return found


def test_every_option_says_what_it_is() -> None:
    undocumented = [f"{p.prog} {'/'.join(a.option_strings) or a.dest}"
                    for p in every_parser(parser()) for a in p._actions
                    if not a.help and not isinstance(a, argparse._HelpAction)]
    assert undocumented == []
    text = parser().format_help()
    assert "``" not in text and "circlemade-edge" in text


CONFIG = """
[site]
id = "s"
[influx]
api = "v1"
url = "http://127.0.0.1:9"
[[machines]]
id = "m"
kind = "meter"
[[machines.sources]]
topic = "t"
profile = "json"
"""


def test_replay_into_head_ends_quietly_and_says_where_input_was_bad(tmp_path: Path) -> None:
    (tmp_path / "edge.toml").write_text(CONFIG)
    recording = tmp_path / "session.jsonl"
    recording.write_bytes(b"".join(orjson.dumps({
        "time": f"2026-11-23T09:{i // 60:02d}:{i % 60:02d}Z", "source": "mqtt", "topic": "t",
        "payload": '{"power_w": "x"}' if i == 5 else f'{{"power_w": {i}}}'}) + b"\n"
        for i in range(3000)))
    result = subprocess.run(
        f"{sys.executable} -m circlemade.cli replay -c edge.toml session.jsonl --out - | head -2; "
        "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", cwd=tmp_path,
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert "Broken pipe" not in result.stderr and "Traceback" not in result.stderr
    assert ("ingest.decode_error source=m/json topic=t error=power_w: expected a number, "
            "got 'x' received=2026-11-23T09:00:05") in result.stderr


def test_check_config_takes_c_like_every_command_and_there_is_a_version(
        capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    example = str(EXAMPLE)
    assert main(["check-config", "-c", example]) == main(["check-config", example]) == 0
    assert main(["check-config"]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"circlemade {version('circlemade-edge')}"


def test_the_example_config_is_printed_and_a_config_checks_offline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["example-config"]) == 0
    printed = capsys.readouterr().out
    assert printed == EXAMPLE.read_text()
    config = tmp_path / "workshop.toml"
    config.write_text(printed.replace('# password_env = "CIRCLEMADE_MQTT_PASSWORD"',
                                      'password_env = "NOT_ON_THIS_LAPTOP"', 1))
    assert 'username' in config.read_text()
    monkeypatch.delenv("NOT_ON_THIS_LAPTOP", raising=False)
    assert main(["check-config", "-c", str(config)]) == 2
    assert "environment variable NOT_ON_THIS_LAPTOP is not set" in capsys.readouterr().err
    assert main(["check-config", "-c", str(config), "--offline"]) == 0
    assert "offline: the secrets were not read" in capsys.readouterr().out


def test_config_show_prints_the_effective_config_with_secrets_masked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example command of the command recipe (CONTRIBUTING.md): defaults filled in,
    where each secret comes from, and a pasted secret masked."""
    import tomllib

    config = tmp_path / "edge.toml"
    config.write_text(
        '[site]\nid = "s"\n[influx]\napi = "v2"\nurl = "http://127.0.0.1:8086"\n'
        'token_env = "INFLUX_TOKEN"\n[[brokers]]\nusername = "edge"\n'
        'password_env = "hT7xq9pLm2-pasted"\n'
        '[[machines]]\nid = "m"\nkind = "printer"\n'
        '[[machines.sources]]\ntopic = "t"\nprofile = "json"\n')
    assert main(["config", "show", "-c", str(config)]) == 0
    shown = capsys.readouterr().out
    effective = tomllib.loads(shown)
    assert effective["influx"]["token_env"] == "INFLUX_TOKEN"
    assert effective["brokers"][0]["password_env"] == "(masked)"
    assert "hT7xq9pLm2" not in shown
    assert effective["brokers"][0]["port"] == 1883  # a default, filled in
    assert effective["stop_timeout_s"] == 10.0


def test_every_command_is_one_registered_module(capsys: pytest.CaptureFixture[str]) -> None:
    from circlemade.commands import COMMANDS

    names = {c.name for c in COMMANDS.values()}
    assert {"run", "check-config", "config", "status", "probe", "report"} <= names
    for name in names:  # each has its help
        with pytest.raises(SystemExit) as done:
            parser().parse_args([name, "--help"])
        assert done.value.code == 0
    modules = {path.stem for path in (REPO / "circlemade" / "commands").glob("*.py")}
    assert modules - {"__init__", "config_file"} <= {
        c.arguments.__module__.rsplit(".", 1)[1] for c in COMMANDS.values()}
