"""`juki stats`: the statistics tables (F1-8, REC-10) for scripts: `--json` on stdout, or a file
in CSV (UTF-8 with BOM / Shift_JIS) or XLSX with `--out`.

Statistics are aggregates (no resident can be read from them), so unlike personal data they may
leave through the console (architecture-notes, hardening 13 keeps personal data off it); the output
is still recorded in the operation log, as the system "console", with the file, the as-of date and
the form, like the terminal's exports.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access.terminals import SYSTEM_CONSOLE
from juki.services.statistics.export import FORMATS, export
from juki.services.statistics.request import StatsRequest
from juki.services.statistics.service import statistics_report

app = typer.Typer(add_completion=False)


@app.command("stats")
def stats_cmd(
    file: Annotated[
        FileKind, typer.Option("--file", help="pref (File 1) or fuhyo (File 2: 国外転出者のみ)")
    ] = (FileKind.PREF),
    as_of: Annotated[str, typer.Option("--as-of", help="基準日 YYYY-MM-DD (default: today, JST)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="every table as one JSON document")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="write the report to this file")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv_utf8, csv_sjis or xlsx (with --out)")] = "xlsx",
) -> None:
    """統計（人口・異動・更新・不受理・照会の件数）を基準日現在で集計する。"""
    today = datetime.now(timezone(timedelta(hours=9))).date()  # the office's day (JST)
    try:
        request = StatsRequest.parse(
            file, as_of or today.isoformat(), today=today, prefecture=Settings.from_env().prefecture
        )
        if out is not None and fmt not in FORMATS:
            raise Refusal("T_STATS_FORMAT")
    except Refusal as refused:
        if as_json:
            emit_json({"error": refused.code, "message": refused.message_ja})
        console.print(f"[red]error:[/red] {refused.code} {escape(refused.message_ja)}")
        raise typer.Exit(2) from None
    output = fmt if out is not None else "json" if as_json else "console"
    db = open_database()
    with db.connect(file_spec(file).db_role, autocommit=True) as conn:
        report = statistics_report(conn, None, request, output=output, system=SYSTEM_CONSOLE)
    if out is not None:
        out.write_bytes(export(report, fmt).content)
        console.print(f"wrote {escape(str(out))} ({fmt})")
    if as_json:
        emit_json(report.as_json())
        return
    console.print(
        f"[bold]{escape(report.file_title)}[/bold] {request.as_of.isoformat()} 現在: {escape(report.subject)}"
    )
    population = report.table("population_by_municipality").rows[-1]
    console.print(f"人口 {population[-1]:,}（男 {population[2]:,}、女 {population[3]:,}）")
    for table in report.tables:
        console.print(f"  {escape(table.title)}: {len(table.rows):,} 行")
    for item in report.omitted:
        console.print(f"  [yellow]未集計[/yellow] {escape(item)}")
