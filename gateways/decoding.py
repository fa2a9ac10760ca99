"""What every decoder and transport shares about refused input: a message that does not
fit its profile, and readings that are good with a problem worth counting. Here, below
both the transports and the profiles, so that neither imports the other for them."""

from __future__ import annotations

from contract.errors import BadInput
from contract.reading import Reading


class DecodeError(BadInput):
    """A message that does not fit its profile. The text says what was expected."""


class PartialDecode(DecodeError):
    """Readings that are good, with a problem worth counting (e.g. a Sparkplug sequence
    gap: the data is valid, but messages were lost before it)."""

    def __init__(self, message: str, readings: list[Reading]) -> None:
        super().__init__(message)
        self.readings = readings
