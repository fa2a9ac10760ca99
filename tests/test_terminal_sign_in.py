"""Who may use the terminal: wrong PINs slow the next tries (per device, and for the whole
page) instead of locking anyone out, and Lock ends one device's session only. The pace is
checked on a clock the test moves; the sessions on the real page (aiohttp's test server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from edge.service.config import parse_config
from edge.service.sources import operator_decoder
from edge.terminal.app import COOKIE, DEVICE_COOKIE, Terminal
from edge.terminal.sign_in import (
    CLIENT_FREE_TRIES,
    MAX_CLIENTS,
    MAX_GAP_S,
    PAGE_FREE_TRIES,
    WINDOW_S,
    Sessions,
    SignInPace,
)

PIN = "802461"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wrong_tries(pace: SignInPace, client: str, count: int) -> list[float]:
    """The waits of ``count`` wrong tries, each sent as soon as the last was answered."""
    waits = []
    for _ in range(count):
        wait = pace.wait_s(client)
        assert wait is not None
        pace.clock.now += wait  # type: ignore[attr-defined]
        pace.failed(client)
        waits.append(wait)
    return waits


def test_wrong_pins_double_the_wait_of_that_client_and_nobody_is_locked_out() -> None:
    clock = Clock()
    pace = SignInPace(clock)
    assert wrong_tries(pace, "device a", 7) == [0, 0, 0, 1, 2, 4, 8]
    assert pace.wait_s("device b") == 0  # another tablet behind the same proxy: no wait
    assert pace.wait_s("device a") == 16  # slowed, never refused
    clock.now += WINDOW_S + 60  # the failures age out
    assert pace.wait_s("device a") == 0


def test_the_page_wide_pace_slows_an_attacker_who_changes_device_every_try() -> None:
    clock = Clock()
    pace = SignInPace(clock)
    waits = [wrong_tries(pace, f"device {n}", 1)[0] for n in range(PAGE_FREE_TRIES + 8)]
    assert waits[:PAGE_FREE_TRIES] == [0] * PAGE_FREE_TRIES
    assert waits[PAGE_FREE_TRIES:] == [1, 2, 4, 8, 16, 32, 60, 60]  # capped at a minute
    assert MAX_GAP_S == 60
    # tries sent at once queue one after another instead of being checked together
    slots = [pace.wait_s(f"device x{n}") for n in range(3)]
    assert slots == [60, 120, 180]


def test_the_table_of_clients_stays_bounded() -> None:
    pace = SignInPace(Clock())
    for n in range(MAX_CLIENTS + 50):
        pace.wait_s(f"device {n}")
    assert len(pace.clients) == MAX_CLIENTS
    assert CLIENT_FREE_TRIES == 3


def test_a_session_lives_until_lock_or_idle() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    a, b = sessions.open(), sessions.open()
    assert a != b and sessions.valid(a) and sessions.csrf(a) != sessions.csrf(b)
    sessions.close(a)
    assert not sessions.valid(a) and sessions.csrf(a) == "" and sessions.valid(b)
    clock.now += 13 * 3600
    assert not sessions.valid(b)


def terminal(tmp_path: Path) -> tuple[Terminal, list[bytes]]:
    config = parse_config({
        "site": {"id": "s"}, "brokers": [{"id": "main"}],
        "influx": {"api": "v1", "url": "http://127.0.0.1:1", "database": "t"},
        "buffer": {"path": str(tmp_path / "b.sqlite")},
        "machines": [{"id": "mk4", "kind": "printer", "sources": [
            {"topic": "p/mk4", "profile": "json"}]}]})
    said: list[bytes] = []

    def publish(topic: str, body: bytes) -> bool:
        said.append(body)
        return True

    decoder = operator_decoder(config)
    assert decoder is not None
    return Terminal(config, PIN, lambda: None, decoder, publish), said


async def sign_in(client: TestClient[Any, Any], pin: str, device: str) -> tuple[int, str]:
    answer = await client.post("/login", data={"pin": pin}, allow_redirects=False,
                               headers={"Cookie": f"{DEVICE_COOKIE}={device}"})
    return answer.status, answer.cookies[COOKIE].value if COOKIE in answer.cookies else ""


async def test_lock_ends_the_session_of_that_tablet_only(tmp_path: Path) -> None:
    page, _ = terminal(tmp_path)
    async with TestClient(TestServer(page.app())) as client:
        client.session.cookie_jar.clear()
        status_a, a = await sign_in(client, PIN, "tablet-a-0123456789")
        status_b, b = await sign_in(client, PIN, "tablet-b-0123456789")
        assert (status_a, status_b) == (303, 303) and a and b and a != b and PIN not in a

        async def machines(session: str) -> str:
            client.session.cookie_jar.clear()
            return await (await client.get("/", headers={"Cookie": f"{COOKIE}={session}"})
                          ).text()

        first = await machines(a)
        assert 'action="logout"' in first
        csrf = first.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        locked = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False,
                                   headers={"Cookie": f"{COOKIE}={a}"})
        assert locked.status == 303
        assert 'name="pin"' in await machines(a)  # the old cookie no longer opens the page
        assert 'action="logout"' in await machines(b)  # the other tablet is still in
        # a form token of another session does not pass
        refused = await client.post("/m/mk4/downtime", data={"csrf": csrf, "reason": "break"},
                                    headers={"Cookie": f"{COOKIE}={b}"})
        assert refused.status == 403


async def test_behind_a_proxy_wrong_pins_from_one_client_do_not_lock_out_a_tablet(
        tmp_path: Path) -> None:
    page, _ = terminal(tmp_path)
    async with TestClient(TestServer(page.app())) as client:
        for _ in range(CLIENT_FREE_TRIES):  # every try comes from the proxy's address
            client.session.cookie_jar.clear()
            assert (await client.post("/login", data={"pin": "000000"})).status == 401
        assert len(page.pace.clients) == 1  # the proxy's address, slowed now
        assert 0.5 < (page.pace.wait_s("address 127.0.0.1") or 0) <= 1
        client.session.cookie_jar.clear()
        assert (await sign_in(client, PIN, "tablet-a-0123456789"))[0] == 303
        client.session.cookie_jar.clear()
        first = await client.get("/")
        assert DEVICE_COOKIE in first.cookies  # the PIN page gives a browser its device id
