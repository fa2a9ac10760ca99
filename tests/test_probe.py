"""``circlemade probe`` against devices it did not write: a simulated PrusaLink printer
(with its API key, and with a wrong one) and SDM630 meters served by pymodbus's Modbus
server; the command runs as a user runs it, in its own process."""

from __future__ import annotations

import asyncio
import os
import sys

from simulators.local_servers import free_port
from simulators.modbus_meter import ModbusMeters
from simulators.printer import SimulatedPrinter
from simulators.prusalink import PrusaLinkPrinter
from tests.conftest import REPO
from tests.test_modbus import meters

KEY_ENV = "CIRCLEMADE_TEST_PROBE_KEY"


async def probe(*args: str, key: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "circlemade.cli", "probe", *args, "--timeout", "60", cwd=REPO,
        env={**os.environ, KEY_ENV: key}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_prusalink_printer_is_asked_once_and_a_wrong_key_is_told() -> None:
    device = PrusaLinkPrinter(SimulatedPrinter("mk4", seed=5), free_port(), "k3y", KEY_ENV)
    await device.start()
    try:
        code, out, err = await probe("prusalink", device.endpoint, f'api_key_env="{KEY_ENV}"',
                                     key="k3y")
        assert code == 0, err
        assert "  status: {" in out and '"signal":"nozzle_temp_c"' in out, out
        assert "k3y" not in out + err
        code, out, err = await probe("prusalink", device.endpoint, f"api_key_env={KEY_ENV}",
                                     key="wrong")
        assert code == 1 and "401" in err and "no usable answer" in err, err
    finally:
        await device.stop()


async def test_a_modbus_meter_is_read_once_and_a_bad_setting_names_its_key() -> None:
    port = free_port()
    server = ModbusMeters(meters(), port)
    await server.start()
    try:
        code, out, err = await probe("sdm630", f"modbus+tcp://127.0.0.1:{port}", "unit=1")
        assert code == 0, err
        assert '"signal":"power_w","value":1500.0' in out, out
        assert '"signal":"energy_kwh","value":12.5' in out, out
        code, out, err = await probe("sdm630", f"modbus+tcp://127.0.0.1:{port}", "unit=900")
        assert code == 2 and "probe: unit: " in err, err
        code, out, err = await probe("tasmota", "http://127.0.0.1:1")
        assert code == 2 and "circlemade decode" in err, err
    finally:
        await server.stop()
