"""Payload profiles: one module (or folder) per device family, found here by its
``PROFILE`` declaration (a :class:`~gateways.profiles.base.Profile`, or a tuple of them
for a module that holds several; a folder declares its profiles in its ``__init__``, so
that its transport is imported only when a source uses it).

To add a family, write ``gateways/profiles/<family>.py`` with its source model
(``profile: Literal["<name>"]``), its decoder, a real example payload in the docstring,
and ``PROFILE = Profile(<Model>, fuzz=...)``; then its test in ``tests/profiles/``.
Nothing else: the config's union of sources, ``circlemade decode``, docs/profiles/ and
the fuzz tests are derived from the declarations (CONTRIBUTING.md has the checklist).
"""

from __future__ import annotations

import importlib
import operator
import pkgutil
from functools import reduce
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles.base import (
    Decoder,
    MqttSourceBase,
    Profile,
    ValueSourceBase,
)


def _declared() -> dict[str, Profile]:
    found: dict[str, Profile] = {}
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):  # a folder: its __init__
        declared = getattr(importlib.import_module(info.name), "PROFILE", ())
        for profile in declared if isinstance(declared, tuple) else (declared,):
            if profile.name in found:
                raise RuntimeError(f"profile {profile.name!r} declared twice: in "
                                   f"{found[profile.name].module} and {profile.module}")
            found[profile.name] = profile
    return dict(sorted(found.items()))


PROFILES = _declared()
"""Every payload profile by name."""
SOURCE_MODELS: dict[str, type[MqttSourceBase]] = {
    name: p.model for name, p in PROFILES.items() if issubclass(p.model, MqttSourceBase)}
"""MQTT payload profiles by name."""
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)

if TYPE_CHECKING:
    MqttSource = MqttSourceBase
    Source = MqttSourceBase | ValueSourceBase
else:  # the discriminated unions pydantic validates a config with
    MqttSource = Annotated[reduce(operator.or_, SOURCE_MODELS.values()),
                           Field(discriminator="profile")]
    Source = Annotated[reduce(operator.or_, (p.model for p in PROFILES.values())),
                       Field(discriminator="profile")]
    """A machine's source: one of the profiles' models, chosen by its ``profile`` key."""

__all__ = ["PROFILES", "PROFILE_NAMES", "SOURCE_MODELS", "DecodeError", "Decoder",
           "MqttSource", "PartialDecode", "Profile", "Source", "ValueSourceBase"]
