"""How every `juki` command shows lists and values to an administrator (issue 10 item 13).

One helper so every listing behaves alike, whoever wrote the command:

* ``--format table|tsv|csv|json`` (:data:`FormatOption`); left out, a table when stdout is a
  terminal and TSV when it is redirected — a redirected table would be cut to the terminal's width.
  ``--json`` (:data:`JsonOption`) stays as the short form of ``--format json``.
* Timestamps as the terminal UI shows them: Japan time, ``YYYY-MM-DD HH:MM:SS``, no microseconds
  (:func:`cell`); in JSON as ISO 8601 with ``+09:00`` (:func:`emit_json`).
* Never a Python ``repr``: dicts and lists become ``key=value`` text in a cell, JSON in JSON.
* :func:`progress`: a rich progress bar with the remaining time (ETA) on a terminal, nothing when
  stderr is redirected (a log file would fill with bar redraws).

Usage in a command::

    @app.command("list")
    def list_cmd(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
        rows = [...]  # dicts
        emit_rows("端末", [Column("name", "端末名"), Column("registered_at", "登録日時")], rows,
                  resolve_format(fmt, as_json))
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Final, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

__all__ = [
    "JST",
    "Column",
    "FormatOption",
    "JsonOption",
    "OutputFormat",
    "cell",
    "emit_json",
    "emit_rows",
    "emit_value",
    "jsonable",
    "print_link",
    "progress",
    "resolve_format",
    "timestamp",
]

#: Japan time: the time the terminal UI, the operation log review and working hours use.
JST: Final = timezone(timedelta(hours=9))


class OutputFormat(StrEnum):
    """How a listing is written to stdout."""

    TABLE = "table"
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="出力形式: table（表）/ tsv / csv / json。省略時は端末なら表、リダイレクト先には TSV",
        case_sensitive=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON で標準出力へ（--format json と同じ）")]


@dataclass(frozen=True)
class Column:
    """One column of a listing: the row's key (JSON) and the heading administrators read."""

    key: str
    label: str


def resolve_format(
    fmt: OutputFormat | None, as_json: bool = False, *, stream: TextIO | None = None
) -> OutputFormat:
    """The format asked for; by default a table on a terminal and TSV when stdout is redirected."""
    if as_json:
        return OutputFormat.JSON
    if fmt is not None:
        return fmt
    out = stream or sys.stdout
    return OutputFormat.TABLE if out.isatty() else OutputFormat.TSV


def timestamp(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Japan time, as the terminal UI shows it (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def cell(value: Any) -> str:
    """One value as text for a table, TSV or CSV cell (None → empty, never a Python repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return " ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(v) for v in value)  # a space: a narrow cell wraps between items
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 in Japan time without microseconds (for JSON output)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(JST).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    """One JSON document on stdout (UTF-8, Japanese kept readable, timestamps in Japan time)."""
    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _tsv_cell(value: Any) -> str:
    # A tab or line break inside a value would shift every later column of the line.
    return cell(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def emit_rows(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    json_value: Any = None,
) -> None:
    """Write a listing to stdout in ``fmt``; JSON writes ``json_value`` (default: the rows) instead."""
    if fmt is OutputFormat.JSON:
        emit_json(list(rows) if json_value is None else json_value)
        return
    if fmt is OutputFormat.TABLE:
        console = Console(highlight=False)
        table = Table(title=title, title_justify="left")
        for column in columns:
            # Cells wrap instead of ending in "…": nothing an administrator needs may be cut off.
            table.add_column(column.label, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell(row.get(c.key))) for c in columns))
        # The width the table would take unconstrained (the measurement is capped at max_width).
        natural = Measurement.get(console, console.options.update(max_width=1_000_000), table).maximum
        if natural <= console.width:
            console.print(table)
        else:
            _print_records(console, title, columns, rows)
        return
    if fmt is OutputFormat.TSV:
        lines = ["\t".join(c.label for c in columns)]
        lines += ["\t".join(_tsv_cell(row.get(c.key)) for c in columns) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.label for c in columns])
        writer.writerows([[cell(row.get(c.key)) for c in columns] for row in rows])
        sys.stdout.write(buffer.getvalue())
    sys.stdout.flush()


def _print_records(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]
) -> None:
    """A table too wide for the terminal, one record at a time (``label  value`` lines), as psql's
    expanded display does: squeezed into 80 columns, every cell of a wide table would break into
    pieces of a few characters."""
    console.print(f"[bold]{escape(title)}[/bold]（{len(rows)} 件）")
    for number, row in enumerate(rows, 1):
        console.rule(f"{number}", align="left", style="dim")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for column in columns:
            grid.add_row(escape(column.label), escape(cell(row.get(column.key))))
        console.print(grid)


def emit_value(title: str, fields: Sequence[Column], value: Mapping[str, Any], fmt: OutputFormat) -> None:
    """One record (a report, a status) as ``label: value`` lines, TSV/CSV of one row, or JSON."""
    if fmt is OutputFormat.JSON:
        emit_json(value)
    elif fmt is OutputFormat.TABLE:
        console = Console(highlight=False)
        console.print(f"[bold]{escape(title)}[/bold]")
        for field in fields:
            console.print(f"  {escape(field.label)}: {escape(cell(value.get(field.key)))}", soft_wrap=True)
    else:
        emit_rows(title, fields, [value], fmt)


def print_link(console: Console, label: str, url: str) -> None:
    """``label:`` on one line and ``url`` alone on the next, never wrapped by rich, never highlighted:
    a link broken by an 80-column terminal, or glued to text, is missed by a click or a copy."""
    console.print(f"{label}:", soft_wrap=True, markup=False, highlight=False)
    console.print(url, soft_wrap=True, markup=False, highlight=False, crop=False)


def progress(console: Console, *, known_total: bool = True) -> Progress:
    """A progress bar on ``console`` (stderr) with the remaining time when the total is known.

    Disabled when the console is not a terminal: redirected output gets no bar redraws at all.
    """
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if known_total:
        columns.append(TextColumn("残り"))
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=False, disable=not console.is_terminal)
