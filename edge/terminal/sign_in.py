"""Who may use the terminal: the pace of PIN tries, and one session per device.

Wrong PINs slow further tries down instead of locking anyone out. Each try takes the next
free slot of its client and of the whole page; after a few free tries the gap between
slots doubles with every recent failure, up to a minute. Behind a reverse proxy every
tablet has the proxy's address, so a client is the browser (its device cookie) when it
has one, and its address otherwise: one careless tablet slows only itself, and an
attacker who throws cookies away is slowed by the page-wide pace, which no change of
address or cookie escapes. A 6-digit PIN then takes months of guessing.

A session is a random token per device, kept here and nowhere else: Lock ends it on
that device only, a restart ends all of them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 15 * 60.0
"""How long a wrong PIN counts towards slowing the next tries."""
MAX_GAP_S = 60.0
CLIENT_FREE_TRIES = 3
PAGE_FREE_TRIES = 10
MAX_WAITING = 32
"""Tries waiting at once for a slot beyond which the page answers "busy" (a flood)."""
MAX_CLIENTS = 1024
"""Clients remembered; the oldest are forgotten first, so the table cannot grow."""


def gap_s(failures: int, free: int) -> float:
    """The gap between tries after ``failures`` recent wrong PINs: 0, then 1, 2, 4 ... s."""
    return 0.0 if failures < free else min(MAX_GAP_S, 2.0 ** (failures - free))


@dataclass
class Pace:
    """The recent failures of one client (or of the page) and its next free slot."""

    free: int
    failures: deque[float] = field(default_factory=deque)
    next_slot: float = 0.0

    def gap_s(self, now: float) -> float:
        while self.failures and now - self.failures[0] > WINDOW_S:
            self.failures.popleft()
        return gap_s(len(self.failures), self.free)


class SignInPace:
    """When each PIN try may be checked; ``wait_s`` reserves the slot."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.page = Pace(PAGE_FREE_TRIES)
        self.clients: OrderedDict[str, Pace] = OrderedDict()
        self.waiting = 0

    async def take_turn(self, client: str) -> float | None:
        """Wait for this client's turn to have its PIN checked; the seconds waited, or
        None when too many tries are waiting already (answer "busy")."""
        wait_s = self.wait_s(client)
        if wait_s is None:
            return None
        self.waiting += 1
        try:
            await asyncio.sleep(wait_s)
        finally:
            self.waiting -= 1
        return wait_s

    def wait_s(self, client: str) -> float | None:
        """Seconds until this try is checked, or None when too many are waiting."""
        if self.waiting >= MAX_WAITING:
            return None
        now = self.clock()
        pace = self._client(client)
        start = max(now, pace.next_slot, self.page.next_slot)
        for each in (pace, self.page):
            each.next_slot = start + each.gap_s(now)
        return start - now

    def failed(self, client: str) -> None:
        now = self.clock()
        for pace in (self._client(client), self.page):
            pace.failures.append(now)
            pace.next_slot = max(pace.next_slot, now + pace.gap_s(now))

    def succeeded(self, client: str) -> None:
        self.clients.pop(client, None)

    def _client(self, client: str) -> Pace:
        pace = self.clients.pop(client, None) or Pace(CLIENT_FREE_TRIES)
        self.clients[client] = pace  # most recent last
        while len(self.clients) > MAX_CLIENTS:
            self.clients.popitem(last=False)
        return pace


SESSION_IDLE_S = 12 * 3600.0
"""A session not used for this long ends (a wall tablet refreshing never idles)."""
MAX_SESSIONS = 256


@dataclass
class Session:
    csrf: str
    last_use: float


class Sessions:
    """The signed-in devices: a random token each, with its CSRF token and last use; the
    least recently used first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._open: OrderedDict[str, Session] = OrderedDict()

    def open(self) -> str:
        token = secrets.token_urlsafe(32)
        self._open[token] = Session(secrets.token_urlsafe(24), self.clock())
        while len(self._open) > MAX_SESSIONS:
            self._open.popitem(last=False)
        return token

    def valid(self, token: str) -> bool:
        """Whether the token is a live session; using it keeps it alive."""
        session, now = self._open.get(token), self.clock()
        if session is None or now - session.last_use > SESSION_IDLE_S:
            self.close(token)
            return False
        session.last_use = now
        self._open.move_to_end(token)
        return True

    def csrf(self, token: str) -> str:
        session = self._open.get(token)
        return "" if session is None else session.csrf

    def close(self, token: str) -> None:
        self._open.pop(token, None)
