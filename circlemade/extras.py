"""Optional parts of the package (pip extras): a command that needs one that is missing
says which extra to install instead of ending in a traceback."""

from __future__ import annotations

EXTRAS = {"matplotlib": "report", "weasyprint": "report"}
"""Top-level module -> the extra that brings it (``preview`` brings matplotlib too)."""


def missing_extra(exc: ModuleNotFoundError, extra: str | None = None) -> str | None:
    """What to tell when ``exc`` is a missing optional module (None: it is not one)."""
    module = (exc.name or "").split(".")[0]
    if module not in EXTRAS:
        return None
    return (f"{module} is not installed; it comes with the '{extra or EXTRAS[module]}' "
            f"extra: pip install 'circlemade-edge[{extra or EXTRAS[module]}]'")
