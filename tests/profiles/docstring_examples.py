"""Read the literal blocks (after ``::``) of a profile's docstring, so tests decode the very
payload and config the documentation shows."""

from __future__ import annotations

import textwrap


def literal_blocks(doc: str) -> list[str]:
    blocks: list[str] = []
    lines = doc.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].rstrip().endswith("::"):
            index += 1
            body: list[str] = []
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
                body.append(lines[index])
                index += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip())
        else:
            index += 1
    return blocks
