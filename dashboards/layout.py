"""Grid positions: panels placed left to right in rows of 24 columns, a new row when the
next one does not fit, so nothing overlaps and no gap is left inside a row."""

from __future__ import annotations

from dataclasses import dataclass

from grafanalib.core import GridPos

COLUMNS = 24


@dataclass
class Cursor:
    x: int = 0
    y: int = 0
    row_height: int = 0

    def place(self, width: int, height: int) -> GridPos:
        if self.x + width > COLUMNS:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        position = GridPos(h=height, w=width, x=self.x, y=self.y)
        self.x += width
        self.row_height = max(self.row_height, height)
        return position
