"""The settings of the terminal, and which PIN it takes."""

from __future__ import annotations

from pathlib import Path

from contract.addresses import Listen
from contract.model import StrictModel


class TerminalSettings(StrictModel):
    """The page on the workshop's tablet (docs/operators.md). Off by default: it takes
    input that changes the KPIs, so opening it to the workshop's network is a decision.
    ``listen = "127.0.0.1:8480"`` serves this box only (a reverse proxy in front),
    ``"0.0.0.0:8480"`` the whole LAN."""

    listen: Listen | None = None
    """host:port to serve the page on; unset: no terminal."""
    pin_env: str | None = None
    """Environment variable holding the workshop's PIN."""
    pin_file: Path | None = None
    """The workshop's PIN (or token), from the environment or a file, never here."""


MIN_PIN = 6
"""The shortest terminal PIN (or passphrase) taken: the page faces the workshop's LAN."""


def pin_refused(pin: str) -> str | None:
    """Why a terminal PIN is refused (never saying what it is), or None."""
    if len(pin.strip()) < MIN_PIN:
        return (f"a PIN of at least {MIN_PIN} digits, or a passphrase of {MIN_PIN} characters "
                "or more, is needed: an empty or short one lets anyone on the LAN in")
    return None
