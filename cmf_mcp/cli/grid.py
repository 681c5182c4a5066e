"""Plain-text tables for listings of any length: aligned columns, one line per row.

``cmf ls`` and ``cmf metrics`` print thousands of rows; a rich table measures and
lays out every cell as a renderable (4.8 s for 10,000 rows), this measures each
cell once and joins strings (milliseconds), and does not import rich at all.

- Columns are separated by two spaces; the header is bold on a terminal.
- A cell is text, or ``(text, colour)`` with a colour of :data:`COLOURS`; colours
  are written only when stdout is a terminal and ``NO_COLOR`` is unset.
- A cell is never cut or wrapped (pipe the output to ``less -S`` to scroll); a
  control character in it (a newline, an escape sequence in a recorded name) is
  printed escaped, so a row stays one line and cannot drive the terminal.
- Wide characters (CJK) count as two columns, combining marks as none.
"""

import os
import sys
import unicodedata
from collections.abc import Sequence

import click

COLOURS = {"red": "31", "green": "32", "yellow": "33", "magenta": "35", "dim": "2"}
BOLD = "1"

Cell = str | tuple[str, str]


class Grid:
    """Rows of cells under named columns, printed as aligned plain text."""

    def __init__(self, *headers: str, show_header: bool = True) -> None:
        self.headers = list(headers)
        self.show_header = show_header
        self.rows: list[Sequence[Cell]] = []

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"a row of {len(cells)} cells under {len(self.headers)} columns")
        self.rows.append(cells)

    def lines(self, *, colour: bool = False) -> list[str]:
        """The table's lines, trailing spaces trimmed."""
        rows = [[_cell_text(cell) for cell in row] for row in self.rows]
        if self.show_header:
            rows.insert(0, [(header, len(header), BOLD) for header in self.headers])
        room = [max(width for _, width, _ in column) for column in zip(*rows, strict=True)]
        lines = []
        for row in rows:
            parts = [
                (f"\x1b[{code}m{text}\x1b[0m" if colour and code and text else text)
                + " " * (space - width)
                for (text, width, code), space in zip(row, room, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        return lines

    def print(self) -> None:
        """Print the table on stdout, in colour on a terminal."""
        click.echo("\n".join(self.lines(colour=use_colour())))


def use_colour() -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _cell_text(cell: Cell) -> tuple[str, int, str]:
    """(text on one line, its width in columns, its colour code)."""
    text, code = (cell, "") if isinstance(cell, str) else (cell[0], COLOURS.get(cell[1], ""))
    if text.isascii() and text.isprintable():
        return text, len(text), code
    text = _one_line(text)
    return text, _width(text), code


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else _ESCAPES.get(ch) or ch.encode("unicode_escape").decode()
        for ch in text
    )


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )
