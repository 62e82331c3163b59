"""Tables that fit the terminal's width without cutting a number.

A table wider than the console loses its least important columns first (`drop`: e.g. parameter counts, the
name of the test, all available in --format markdown/json/records), and, if still too wide, is split into
stacked blocks that each repeat the key columns (e.g. "videos"). A cell is never shortened to "…": a block
that cannot fit even one column beside its keys is printed at its natural width.
"""
from __future__ import annotations

import textwrap
from typing import Callable, Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

#: table_of(header, rows, first block?, last block?) -> a rich Table of those columns.
TableMaker = Callable[[list[str], list[list[str]], bool, bool], Table]


def natural_width(console: Console, table: Table) -> int:
    """The width `table` takes when nothing is wrapped or cut."""
    return Measurement.get(console, console.options.update(width=10_000), table).maximum


def print_unshrunk(console: Console, table: Table) -> None:
    """Print `table` at its natural width even on a narrower terminal: numbers are never cut to "…"."""
    natural = natural_width(console, table)
    if natural > console.width:  # Console.print caps its width at the console's: print through a wider twin
        console = Console(file=console.file, width=natural, color_system=console.color_system,
                          no_color=console.no_color, force_terminal=console.is_terminal)
    console.print(table)


def _subset(header: list[str], rows: list[list[str]], columns: Sequence[int]) -> tuple[list[str], list[list[str]]]:
    return [header[i] for i in columns], [[row[i] for i in columns] for row in rows]


def fit_columns(console: Console, make: TableMaker, header: list[str], rows: list[list[str]], *,
                keys: Sequence[int], drop: Callable[[str], int | None]) -> tuple[list[list[int]], list[str]]:
    """The column blocks to print and the names of the dropped columns. `drop(name)` ranks a droppable column
    (lower goes first) or returns None for a column that stays."""
    def width(columns: Sequence[int], first: bool = True, last: bool = True) -> int:
        return natural_width(console, make(*_subset(header, rows, columns), first, last))

    columns = list(range(len(header)))
    ranked = sorted((rank, i) for i, name in enumerate(header) if (rank := drop(name)) is not None)
    dropped = []
    for _, index in ranked:
        if width(columns) <= console.width:
            break
        columns.remove(index)
        dropped.append(header[index])
    if width(columns) <= console.width:
        return [columns], dropped
    blocks, current = [], list(keys)
    for index in (i for i in columns if i not in keys):
        if len(current) > len(keys) and width(current + [index], False, False) > console.width:
            blocks.append(current)
            current = list(keys)
        current.append(index)
    blocks.append(current)
    return blocks, dropped


def print_fitted(console: Console, make: TableMaker, header: list[str], rows: list[list[str]], *,
                 keys: Sequence[int] = (0,), drop: Callable[[str], int | None] = lambda name: None) -> list[str]:
    """Print the table of `header` and `rows` fitted to `console` (see the module); returns the dropped names."""
    blocks, dropped = fit_columns(console, make, header, rows, keys=keys, drop=drop)
    for number, columns in enumerate(blocks):
        print_unshrunk(console, make(*_subset(header, rows, columns), number == 0, number == len(blocks) - 1))
    return dropped


def key_value_lines(items: Sequence[tuple[str, str]], width: int, indent: int = 2) -> list[str]:
    """`key  value` lines, the values aligned, at most `width` columns where the words allow: a value too long for
    its line goes on the lines below its key, indented and wrapped between words (a hash or a number is never
    split or cut; only a single word wider than the console overflows)."""
    if not items:
        return []
    key_width = max(len(key) for key, _ in items)
    lines = []
    for key, value in items:
        line = f"{' ' * indent}{key:<{key_width}}  {value}"
        if len(line) <= width or not value:
            lines.append(line)
            continue
        lines.append(f"{' ' * indent}{key}")
        lines += textwrap.wrap(value, width=max(width, 2 * indent + 8), initial_indent=" " * 2 * indent,
                               subsequent_indent=" " * 2 * indent, break_long_words=False, break_on_hyphens=False)
    return lines
