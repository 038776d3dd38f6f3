"""`juki reconcile run|show|list`: the operator's path to the consistency check (F1-7, F2-7, S-53).

`run` streams a municipality's complete CSV (the same file a 市町村CS would upload) through the same
service as the mTLS API, with a progress bar on stderr; `show` prints a kept run; `list` the latest
runs. The console prints run status and counts only, never the differences: they carry 住民票コード
and item values (personal data), which only an authenticated operator may see, with the rights check
and the operation-log row of the terminal UI (hardening 13). The 市町村CS gets them over mTLS.
Exit codes: 0 the run completed (differences or not), 1 it failed (the message and the run's error
code say why; the run is kept as failed).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from juki.domain.records import FileKind
from juki.files import file_spec
from juki.interfaces.common import console, emit_json, open_database
from juki.services.registry.reconciliation import (
    ReconcileError,
    RunInfo,
    get_run,
    iter_file,
    list_runs,
    reconcile,
)

app = typer.Typer(help="市町村CSとの整合性確認（本人確認情報整合 F1-7 / 附票 F2-7）", no_args_is_help=True)

FileOption = Annotated[FileKind, typer.Option("--file", help="pref (File 1) or fuhyo (File 2)")]


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment
        return "unknown"


def _print_run(info: RunInfo) -> None:
    console.print(
        f"run {info.run_id} ({info.file}, {info.municipality_code}"
        f"{' = ' + ','.join(info.scope_codes) if info.scope_codes != [info.municipality_code] else ''}): "
        f"[bold]{info.status}[/bold], by {escape(info.requested_by)}, "
        f"started {info.started_at:%Y-%m-%d %H:%M:%S}"
    )
    if info.error_code:
        console.print(f"[red]{info.error_code}[/red] {escape(info.error or '')}")
    if info.counts:
        c = info.counts
        console.print(
            f"uploaded {c['uploaded']:,} / server {c['server']:,}: identical {c['identical']:,}, "
            f"different {c['different']:,}, missing on server {c['missing_on_server']:,}, "
            f"missing on municipal side {c['missing_on_municipal']:,}"
        )
        if c.get("fields"):
            console.print("fields: " + ", ".join(f"{k} {v:,}" for k, v in c["fields"].items()))


@app.command("run")
def run_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the CSV upload")],
    municipality: Annotated[
        str, typer.Option(help="地方公共団体コード (a designated city covers its wards)")
    ],
    file: FileOption = FileKind.PREF,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """市町村の全件CSVをファイルと照合し、結果を保存・表示する。"""
    db = open_database()
    total = path.stat().st_size
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar,
        db.connect(file_spec(file).db_role) as conn,
    ):
        task = bar.add_task(f"reconcile {path.name}", total=total)
        try:
            info = reconcile(
                conn,
                file,
                municipality,
                iter_file(path),
                requested_by=f"operator:{_operator()}",
                progress=lambda done: bar.update(task, completed=done),
            )
        except ReconcileError as exc:
            bar.stop()
            if as_json:
                emit_json(exc.to_dict())
            run = f" (run {exc.run_id} failed)" if exc.run_id is not None else ""
            console.print(f"[red]error:[/red] {exc.code} {escape(exc.message)}{run}")
            raise typer.Exit(1) from None
    if as_json:
        emit_json(info.to_dict())
    else:
        _print_run(info)


@app.command("show")
def show_cmd(
    run_id: Annotated[int, typer.Argument(help="the run's id")],
    file: FileOption = FileKind.PREF,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """保存された照合の状態と件数を表示する（差異の内容は個人情報を含むため表示しない）。"""
    db = open_database()
    with db.connect(file_spec(file).db_role) as conn:
        info = get_run(conn, file, run_id)
        if info is None:
            console.print(f"[red]error:[/red] E_RECON_NOT_FOUND 照合 {run_id} はありません（{file.value}）")
            raise typer.Exit(1)
    if as_json:
        emit_json(info.to_dict())
    else:
        _print_run(info)


@app.command("list")
def list_cmd(
    file: FileOption = FileKind.PREF,
    municipality: Annotated[str | None, typer.Option(help="only this municipality's runs")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """最近の照合の一覧。"""
    db = open_database()
    with db.connect(file_spec(file).db_role) as conn:
        runs = list_runs(conn, file, municipality, limit)
    if as_json:
        emit_json([r.to_dict() for r in runs])
        return
    table = Table("run", "municipality", "status", "started", "uploaded", "differences", "by")
    for r in runs:
        table.add_row(
            str(r.run_id),
            r.municipality_code,
            r.status + (f" {r.error_code}" if r.error_code else ""),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            f"{r.uploaded_rows:,}" if r.uploaded_rows is not None else "",
            f"{(r.counts or {}).get('differences', 0):,}" if r.counts else "",
            escape(r.requested_by),
        )
    console.print(table)
