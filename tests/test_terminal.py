"""The terminal page in a real browser (Debian's Chromium, driven by Selenium) on a
running service with real Mosquitto and InfluxDB: a wrong PIN is refused; a verdict, a
stop reason and a spool load are clicked through and land in InfluxDB. Screenshots go to
tmp_path (``CIRCLEMADE_SCREENSHOTS=docs`` puts them in docs/, for the README)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from simulators.local_servers import LocalServer, free_port
from tests.conftest import REPO, unavailable
from tests.talk import publish, stored
from tests.waiting import logged, wait_for

PIN = "471108"


def query(url: str, statement: str) -> list[dict[str, Any]]:
    return stored(url, "terminal", statement)


@pytest.fixture
def service(tmp_path: Path, servers: tuple[LocalServer, LocalServer],
            ) -> Iterator[tuple[str, LocalServer, LocalServer]]:
    """A running service with its terminal on a free loopback port, a printer that has
    printed a job and stands idle."""
    mqtt, influx = servers
    port = free_port()
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "atelier", "name": "Atelier Nord", "timezone": "Europe/Brussels"},
        "brokers": [{"port": mqtt.port, "client_id": "terminal-edge"}],
        "influx": {"api": "v1", "url": influx.url, "database": "terminal",
                   "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "terminal": {"listen": f"127.0.0.1:{port}", "pin_env": "CIRCLEMADE_TERMINAL_PIN"},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "machines": [{"id": "mk4", "name": "Prusa MK4", "kind": "printer",
                      "material": "PETG", "parts_per_job": 2, "sources": [
                          {"topic": "p/mk4", "profile": "json",
                           "time": {"path": "ts", "format": "unix_s"}}],
                      "components": [  # 5 min of printing: the hotend's 3 are overdue
                          {"name": "hotend", "counts": "run_h", "service_every": 0.05,
                           "block_jobs": True},
                          {"name": "belt", "counts": "days", "service_every": 365}]}]}))
    log = tmp_path / "edge.log"
    with log.open("w") as out:
        edge = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, "CIRCLEMADE_TERMINAL_PIN": PIN})
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        wait_for("the terminal listening", logged(log, "terminal.listening"))
        t = time.time() - 600
        publish(mqtt.port, "p/mk4", {"ts": t, "state": "running", "job_event": "start",
                                     "job_name": "bracket"})
        publish(mqtt.port, "p/mk4", {"ts": t + 300, "state": "idle", "job_event": "end",
                                     "job_outcome": "good", "filament_used_mm": 10000})
        wait_for("the job stored", lambda: bool(query(influx.url, 'SELECT * FROM "job"')))
        yield f"http://127.0.0.1:{port}/", mqtt, influx
    finally:
        edge.send_signal(signal.SIGTERM)
        edge.wait(60)
    assert PIN not in log.read_text()  # never in the log


def browser(width: int = 1024, height: int = 768) -> Any:
    """Chromium at a tablet's size (1024x768 landscape unless told)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (scripts/setup installs it)")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        unavailable("chromium and chromium-driver are not installed (scripts/setup does)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(driver))


def test_a_verdict_a_stop_reason_and_a_spool_from_the_tablet(
        tmp_path: Path, service: tuple[str, LocalServer, LocalServer]) -> None:
    from selenium.webdriver.common.by import By

    url, mqtt, influx = service
    shots = Path(os.environ.get("CIRCLEMADE_SCREENSHOTS") or tmp_path)
    page = browser()
    try:
        page.get(url)
        page.find_element(By.NAME, "pin").send_keys("000000")
        page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        shows(page, "Wrong PIN")
        page.find_element(By.NAME, "pin").send_keys(PIN)
        page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        shows(page, "Prusa MK4")
        assert "idle" in page.page_source
        # the wall tablet follows the machine by itself
        publish(mqtt.port, "p/mk4", {"ts": time.time() - 200, "state": "running",
                                     "job_event": "start", "job_name": "hinge"})
        shows(page, "Job: hinge")
        page.save_screenshot(str(shots / "terminal-machines.png"))
        publish(mqtt.port, "p/mk4", {"ts": time.time() - 100, "state": "stopped",
                                     "job_event": "end", "job_outcome": "good",
                                     "filament_used_mm": 3000})
        shows(page, "Last job: hinge")

        page.find_element(By.ID, "machine-mk4").click()
        shows(page, "Last job: how did it come out?")
        assert "hinge" in page.page_source
        assert not page.execute_script("return filling")  # reloads itself while untouched
        page.save_screenshot(str(shots / "terminal-machine.png"))
        set_count(page, "good", 0)
        assert page.execute_script("return filling")  # no reload while a form is filled
        set_count(page, "scrap", 0)
        page.find_element(By.CSS_SELECTOR, "#verdict button[value=warping]").click()
        recorded(page, "Not recorded: verdict")  # on the page, with the form as it was
        assert counts(page) == (0, 0)
        page.save_screenshot(str(shots / "terminal-refused.png"))
        set_count(page, "good", 1)
        set_count(page, "scrap", 1)
        page.find_element(By.CSS_SELECTOR, "#verdict button[value=warping]").click()
        recorded(page, "Recorded: job hinge, good 1, scrap 1, reason warping")
        page.find_element(By.CSS_SELECTOR, "#downtime button[value=waiting_material]").click()
        recorded(page, "reason waiting_material")
        load_a_spool(page)
        recorded(page, "lot RPETG-2026-118")
        page.save_screenshot(str(shots / "terminal-recorded.png"))
        page.set_window_size(390, 844)  # a phone upright
        page.find_element(By.ID, "all_good").click()
        recorded(page, "Recorded: job hinge, good 2, scrap 0")
        assert page.execute_script(  # nothing wider than the phone: no sideways scrolling
            "return document.documentElement.scrollWidth <= window.innerWidth")
        page.save_screenshot(str(shots / "terminal-phone.png"))
        page.find_element(By.ID, "back").click()
        shows(page, "Machines")
    finally:
        page.quit()

    said_in_influxdb(influx)


def test_maintenance_from_the_tablet(tmp_path: Path,
                                    service: tuple[str, LocalServer, LocalServer]) -> None:
    """What is due, most urgent first, with a warning not to start a job; one tap records
    the service, which reaches InfluxDB, and the page shows the hotend ok again."""
    from selenium.webdriver.common.by import By

    url, _, influx = service
    shots = Path(os.environ.get("CIRCLEMADE_SCREENSHOTS") or tmp_path)
    page = browser()
    try:
        sign_in(page, url)
        shows(page, "Maintenance: hotend overdue")  # on the machines' list
        page.find_element(By.ID, "machine-mk4").click()
        shows(page, "Do not start a new job: overdue: hotend")
        parts = [e.text.split()[0] for e in page.find_elements(By.CSS_SELECTOR, "#upkeep .part")]
        assert parts == ["hotend", "belt"]  # the most urgent first
        page.execute_script("document.getElementById('upkeep').scrollIntoView()")
        page.save_screenshot(str(shots / "terminal-maintenance.png"))
        page.find_element(By.ID, "serviced-hotend").click()
        recorded(page, "Recorded: component hotend, action serviced")
        wait_for("the hotend ok on the page", lambda: (
            page.refresh(), "Do not start a new job" not in page.page_source)[1])
        shows(page, "last: Serviced")
    finally:
        page.quit()
    wait_for("the service stored", lambda: [
        (row["component"], row["action"], row["by"])
        for row in query(influx.url, 'SELECT * FROM "maintenance"')] == [
            ("hotend", "serviced", "terminal")])


def sign_in(page: Any, url: str) -> None:
    from selenium.webdriver.common.by import By

    page.get(url)
    page.find_element(By.NAME, "pin").send_keys(PIN)
    page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def load_a_spool(page: Any) -> None:
    from selenium.webdriver.common.by import By

    for name, value in (("lot", "RPETG-2026-118"), ("recycled_pct", "100"),
                        ("supplier", "Filamentz Brussels"), ("mass_g", "1000")):
        field = page.find_element(By.CSS_SELECTOR, f"#material input[name={name}]")
        field.clear()
        field.send_keys(value)
    page.find_element(By.CSS_SELECTOR, "#material form:nth-of-type(1) button").click()


def said_in_influxdb(influx: LocalServer) -> None:
    """Both verdicts (the last one wins), the stop's reason and the lot, each by the
    terminal."""
    wait_for("the verdicts stored", lambda: [
        (row["job"], row["good_parts"], row["scrap_parts"], row["reason"])
        for row in query(influx.url, 'SELECT * FROM "job"')] == [
            ("bracket", 2.0, 0.0, None), ("hinge", 2.0, 0.0, "")])  # the last verdict wins
    wait_for("the stop's reason stored", lambda: bool(query(
        influx.url, 'SELECT * FROM "downtime" WHERE "reason" = \'waiting_material\'')))
    wait_for("the lot stored", lambda: [row["recycled_pct"] for row in query(
        influx.url, 'SELECT * FROM "material_lot"')] == [100.0])
    said = query(influx.url, 'SELECT * FROM "operator_input"')
    assert {row["by"] for row in said} == {"terminal"}



def set_count(page: Any, name: str, target: int) -> None:
    """Tap - or + beside a count until it shows ``target`` (no typing with gloves)."""
    from selenium.webdriver.common.by import By

    field = page.find_element(By.ID, name)
    for _ in range(20):
        value = int(field.get_attribute("value") or 0)
        if value == target:
            return
        step = "-1" if value > target else "1"
        page.find_element(By.CSS_SELECTOR, f'button[data-for={name}][data-step="{step}"]').click()
    raise AssertionError(f"{name} never reached {target}")


def counts(page: Any) -> tuple[int, int]:
    from selenium.webdriver.common.by import By

    good, scrap = (int(page.find_element(By.ID, name).get_attribute("value"))
                   for name in ("good", "scrap"))
    return good, scrap


def shows(page: Any, text: str) -> None:
    """Wait for the page (after a click that loads another) to show ``text``."""
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(page, 60).until(lambda driver: text in driver.page_source)


def recorded(page: Any, text: str) -> None:
    """Wait for the page after a form was sent to say what was recorded. While the new page
    loads, the old one's element may be gone under the driver's hands (chromedriver says
    "Node with given id does not belong to the document"): that is waited out too."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(page, 60, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "said"), text))


def test_requests_without_the_pin_or_the_form_token_are_refused(
        service: tuple[str, LocalServer, LocalServer]) -> None:
    url, _, influx = service

    def post(path: str, data: bytes, cookie: str = "") -> int:
        request = urllib.request.Request(url + path, data=data, method="POST",
                                         headers={"Cookie": cookie} if cookie else {})
        opener = urllib.request.build_opener(NoRedirect())
        try:
            return int(opener.open(request, timeout=30).status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("m/mk4/verdict", b"good=1") == 403  # no form token
    assert post("login", b"pin=000000") == 401
    with urllib.request.urlopen(url + "m/mk4", timeout=30) as response:  # not signed in
        assert "pin" in response.read().decode()  # sent back to the PIN page
    assert post("m/mk4/verdict", b"x" * 20_000) == 413  # too big
    assert query(influx.url, 'SELECT * FROM "operator_input"') == []


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_batch_from_the_tablet(tmp_path: Path,
                                service: tuple[str, LocalServer, LocalServer]) -> None:
    """A batch started at the tablet runs on the machine's page, reaches InfluxDB as a
    ``batch`` point, and ends with one tap."""
    from selenium.webdriver.common.by import By

    url, _, influx = service
    shots = Path(os.environ.get("CIRCLEMADE_SCREENSHOTS") or tmp_path)
    page = browser()
    try:
        sign_in(page, url)
        page.find_element(By.ID, "machine-mk4").click()
        shows(page, "No batch is running.")
        for name, value in (("batch", "B-2026-041"), ("product", "hinge"), ("quantity", "48")):
            field = page.find_element(By.CSS_SELECTOR, f"#batch input[name={name}]")
            field.clear()
            field.send_keys(value)
        page.find_element(By.ID, "start-batch").click()
        recorded(page, "Recorded: action start, batch B-2026-041, product hinge, quantity 48")
        wait_for("the batch running on the page", lambda: (
            page.refresh(), "B-2026-041 · hinge · 0 / 48 good · remaining 48"
            in page.find_element(By.ID, "batch").text)[1])
        page.execute_script("document.getElementById('batch').scrollIntoView()")
        page.save_screenshot(str(shots / "terminal-batch.png"))
        page.find_element(By.ID, "end-batch").click()
        recorded(page, "Recorded: action end, batch B-2026-041")
        wait_for("the batch ended on the page", lambda: (
            page.refresh(), "No batch is running." in page.page_source)[1])
    finally:
        page.quit()
    wait_for("the batch stored, ended", lambda: [
        (row["batch"], row["product"], row["quantity"], row.get("ended"))
        for row in query(influx.url, 'SELECT * FROM "batch"')] == [
            ("B-2026-041", "hinge", 48.0, 1.0)])
