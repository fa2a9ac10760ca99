"""Secrets are named in the config, never written in it: an environment variable or a file.

Values are wrapped in pydantic's ``SecretStr`` so that they print as ``**********`` in
logs, reprs and config dumps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from contract.errors import ConfigProblem

SECRET_KEYS = frozenset({"password", "token", "secret", "api_key", "apikey", "access_code",
                         "pin", "passphrase"})
"""Keys that must never appear in a config file with a literal value."""
VARIABLE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
"""What an environment variable's name looks like here. A ``*_env`` value that does not
is most likely the secret pasted in by mistake: it is never printed."""


def shown_variable(env: str) -> str:
    """A variable's name as a message may show it: itself, or a note that it is hidden."""
    if VARIABLE_NAME.match(env):
        return env
    return "(name not shown: it does not look like a variable name, was the secret itself pasted?)"


class SecretUnavailable(ConfigProblem):
    """The named environment variable is unset, or the named file cannot be read."""


def read_secret(
    env: str | None, file: Path | None, environ: Mapping[str, str] | None = None
) -> SecretStr | None:
    """The secret from ``env`` (an environment variable name) or ``file``; None if neither."""
    environ = os.environ if environ is None else environ
    if env is not None:
        if env not in environ:
            raise SecretUnavailable(f"environment variable {shown_variable(env)} is not set")
        return SecretStr(environ[env])
    if file is not None:
        try:
            return SecretStr(file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise SecretUnavailable(f"cannot read secret file {file}: {exc.strerror}") from None
    return None
