"""A diagnostic: a rule's finding with its place in a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    row: int
    column: int
    code: str
    message: str
    name: str = ""
    end_row: int = 0
    end_column: int = 0
    url: Optional[str] = None
    fix: Optional[dict] = None
    cell: Optional[int] = None  # notebooks: the 1-based cell; ``row`` is then the row within the cell

    def sort_key(self):
        return (self.path, self.cell or 0, self.row, self.column, self.code, self.message)
