"""The statistics report as files for Excel (F1-8): CSV in UTF-8 with BOM, CSV in Shift_JIS
(CP932, what office PCs' Excel opens by double-click), and XLSX (openpyxl, one sheet per table).

Every file starts with what it is: the file, the as-of date, whom it counts, and the note on small
cells (architecture-notes: counts are not suppressed here; whoever publishes must). A CSV holds the
tables one after another, each under its title row and separated by an empty line, so one download
is the whole report like the page.

Shift_JIS cannot hold every character: the few labels with a character CP932 lacks are written with
the character CP932 customarily uses for it (WAVE DASH 〜 → FULLWIDTH TILDE ～, as Windows does),
and anything still not encodable becomes 〓 (DOMAIN §7) — never dropped, never an error. The
tables hold no names or addresses, so in practice only the mapping applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from juki.domain.refusals import Refusal
from juki.services.statistics.tables import Cell, StatsReport

SMALL_CELLS_NOTE: Final = (
    "内部資料: 3人未満の区分も秘匿せずに示しています。公表する場合は、公表する表の組合せに応じて"
    "秘匿処理（一次・二次）を行ってください。"
)

#: Characters CP932 writes differently from Unicode's mapping (Windows' own choices).
_CP932_EQUIVALENTS: Final = str.maketrans(
    {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0", "\u00a3": "\uffe1"}
)
_GETA: Final = "〓"


@dataclass(frozen=True)
class ExportFile:
    """A file to download: its bytes, media type and name."""

    content: bytes
    media_type: str
    filename: str


FORMATS: Final = {
    "csv_utf8": ("text/csv; charset=utf-8", "csv"),
    "csv_sjis": ("text/csv; charset=shift_jis", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def _preamble(report: StatsReport) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        [f"統計資料 {report.file_title}"],
        ["基準日", report.request.as_of.isoformat()],
        ["集計対象", report.subject],
        ["注意", SMALL_CELLS_NOTE],
    ]
    rows.extend(["未集計", item] for item in report.omitted)
    return rows


def _csv_rows(report: StatsReport) -> Iterator[list[Cell]]:
    yield from _preamble(report)
    for table in report.tables:
        yield []
        yield [table.title]
        if table.note:
            yield [table.note]
        yield list(table.columns)
        for row in table.rows:
            yield list(row)


def to_cp932(text: str) -> bytes:
    """``text`` in CP932: Windows' equivalents first, then 〓 for what CP932 cannot hold."""
    mapped = text.translate(_CP932_EQUIVALENTS)
    return b"".join(_char_cp932(ch) for ch in mapped) if not _encodable(mapped) else mapped.encode("cp932")


def _encodable(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def _char_cp932(ch: str) -> bytes:
    try:
        return ch.encode("cp932")
    except UnicodeEncodeError:
        return _GETA.encode("cp932")


def csv_text(report: StatsReport) -> str:
    """The report as CSV text (CRLF line ends, as Excel writes them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_csv_rows(report))
    return out.getvalue()


def xlsx_bytes(report: StatsReport) -> bytes:
    """The report as an XLSX workbook: a 表紙 sheet, then one sheet per table."""
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "表紙"
    for row in _preamble(report):
        cover.append(row)
    cover.append([])
    cover.append(["シート", "表"])
    bold = Font(bold=True)
    for number, table in enumerate(report.tables, start=1):
        name = f"表{number}"
        cover.append([name, table.title])
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet["A1"].font = bold
        if table.note:
            sheet.append([table.note])
        sheet.append(list(table.columns))
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = bold
        for index, cells in enumerate(table.rows):
            sheet.append(list(cells))
            if table.levels and table.levels[index]:
                for cell in sheet[sheet.max_row]:
                    cell.font = bold
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
        for column in range(1, len(table.columns) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 12 if column > 2 else 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(report: StatsReport, output: str) -> ExportFile:
    """The report in ``output`` form (a key of FORMATS); T_STATS_FORMAT otherwise."""
    if output not in FORMATS:
        raise Refusal("T_STATS_FORMAT")
    media_type, extension = FORMATS[output]
    suffix = "_sjis" if output == "csv_sjis" else ""
    filename = (
        f"statistics_{report.request.file.value}_{report.request.as_of.isoformat()}{suffix}.{extension}"
    )
    if output == "xlsx":
        content = xlsx_bytes(report)
    elif output == "csv_sjis":
        content = to_cp932(csv_text(report))
    else:
        content = csv_text(report).encode("utf-8-sig")
    return ExportFile(content, media_type, filename)
