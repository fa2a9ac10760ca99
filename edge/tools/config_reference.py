"""The configuration reference, generated from the models themselves (each field's
docstring is its description), so it cannot drift from what the service accepts:
``python -m edge.tools.config_reference > docs/config.md``; a test checks it is current and
that the example config (circlemade/examples/workshop.toml) shows every field it lists."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from edge.service.config import Config

INTRO = """# Configuration reference

Generated from the models by `python -m edge.tools.config_reference > docs/config.md`; every
field is also shown, set or commented, in
[`circlemade/examples/workshop.toml`](../circlemade/examples/workshop.toml) (printed by
`circlemade example-config`), which is the place to start.
Secrets are never written here: fields ending in `_env` name an environment variable,
`_file` a file (e.g. a systemd credential) that holds them.
"""


PROFILE_DOC = "Which payload profile decodes it: this section's (docs/profiles/)."


def sections(model: type[BaseModel] = Config, label: str = "", dotted: str = "",
             seen: set[type] | None = None) -> Iterator[tuple[str, type[BaseModel]]]:
    """(TOML table, model) of every table the config can hold, depth first."""
    seen = set() if seen is None else seen
    if model in seen:
        return
    seen.add(model)
    yield label, model
    for name, field in model.model_fields.items():
        for child, many in _models(field.annotation):
            where = f"{dotted}.{name}" if dotted else name
            title = f"[[{where}]]" if many else f"[{where}]"
            profile = child.model_fields.get("profile")
            if profile is not None and get_origin(profile.annotation) is Literal:
                title += f" with profile = \"{get_args(profile.annotation)[0]}\""
            yield from sections(child, title, where, seen)


def _models(annotation: Any, many: bool = False) -> Iterator[tuple[type[BaseModel], bool]]:
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, many
    elif origin is Annotated:
        yield from _models(get_args(annotation)[0], many)
    elif origin in (list, tuple):
        for arg in get_args(annotation):
            yield from _models(arg, True)
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _models(arg, many)


def _field_type(field: FieldInfo) -> str:
    """The type with the bounds pydantic keeps beside it (``Field(ge=..)``)."""
    if field.metadata:
        return _type(Annotated[(field.annotation, *field.metadata)])
    return _type(field.annotation)


def _type(annotation: Any) -> str:
    """A field's type in words: ``integer 0 to 2``, ``list of text``, ``one of: a, b``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        bounds = [f"{name} {getattr(m, attr)}" for m in args[1:]
                  for attr, name in (("ge", "at least"), ("gt", "above"), ("le", "at most"),
                                     ("lt", "below"))
                  if getattr(m, attr, None) is not None]
        return ", ".join([_type(args[0]), *bounds])
    if origin is Literal:
        return "one of: " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type(args[0])} to {_type(args[1])}" if args else "table"
    if args and type(None) in args:  # Optional
        return " or ".join(_type(a) for a in args if a is not type(None)) + ", or unset"
    if args:  # another union
        return " or ".join(_type(a) for a in args)
    return _WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


_WORDS: dict[Any, str] = {str: "text", int: "integer", float: "number", bool: "true or false",
                          Path: "path", time: "time of day", date: "date"}


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "(see below)"
    return f"`{value!r}`" if value is not None else "unset"


def reference() -> str:
    out = [INTRO]
    for path, model in sections():
        title = path or "top level"
        doc = " ".join((model.__doc__ or "").split()) if model.__doc__ != BaseModel.__doc__ \
            else ""
        out += [f"\n## {title}\n", f"\n{doc}\n" if doc else "",
                "\n| field | type | default | description |\n|---|---|---|---|\n"]
        for name, field in model.model_fields.items():
            if next(_models(field.annotation), None) is not None:
                out.append(f"| `{name}` | table | | its section below |\n")
                continue
            text = field.description or (PROFILE_DOC if name == "profile" else "")
            description = " ".join(text.split()).replace("|", "\\|")
            out.append(f"| `{name}` | `{_field_type(field)}` | {_default(field)} | "
                       f"{description} |\n")
    return "".join(out)


if __name__ == "__main__":
    print(reference(), end="")
