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

from juki.domain.records import FileKind
from juki.files import file_spec
from juki.interfaces.cli_output import Column, FormatOption, JsonOption, emit_rows, resolve_format, timestamp
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

FileOption = Annotated[
    FileKind, typer.Option("--file", help="pref（本人確認情報）または fuhyo（附票本人確認情報）")
]
#: How the run's counts are named for the administrator.
COUNT_LABELS = {
    "uploaded": "アップロード",
    "server": "サーバ",
    "identical": "一致",
    "different": "差異あり",
    "missing_on_server": "サーバになし",
    "missing_on_municipal": "市町村側になし",
}
STATUS_LABELS = {"running": "実行中", "completed": "完了", "failed": "失敗"}


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment
        return "unknown"


def _json(info: RunInfo) -> dict[str, object]:
    # Times as every juki command shows them (Japan time, no microseconds), not the API's UTC text.
    return info.to_dict() | {"started_at": info.started_at, "finished_at": info.finished_at}


def _print_run(info: RunInfo) -> None:
    scope = f"（{','.join(info.scope_codes)}）" if info.scope_codes != [info.municipality_code] else ""
    console.print(
        f"照合 {info.run_id}（{info.file}, {info.municipality_code}{scope}）: "
        f"[bold]{STATUS_LABELS.get(info.status, info.status)}[/bold], 依頼者 {escape(info.requested_by)}, "
        f"開始 {timestamp(info.started_at)}",
        soft_wrap=True,
    )
    if info.error_code:
        console.print(f"[red]{info.error_code}[/red] {escape(info.error or '')}", soft_wrap=True)
    if info.counts:
        c = info.counts
        console.print(", ".join(f"{label} {c.get(key, 0):,} 件" for key, label in COUNT_LABELS.items()))
        if c.get("fields"):
            console.print("項目別の差異: " + ", ".join(f"{k} {v:,}" for k, v in c["fields"].items()))


@app.command("run")
def run_cmd(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="市町村の全件 CSV")
    ],
    municipality: Annotated[str, typer.Option(help="地方公共団体コード（指定都市はその区をすべて含む）")],
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
            # Redirected stderr gets no bar redraws (the result lines say what happened).
            disable=not console.is_terminal,
        ) as bar,
        db.connect(file_spec(file).db_role) as conn,
    ):
        task = bar.add_task(f"照合 {path.name}", total=total)
        try:
            info = reconcile(
                conn,
                file,
                municipality,
                iter_file(path),
                requested_by=f"operator:{_operator()}",
                progress=lambda done: bar.update(task, completed=done),
                lg_table=db.settings.lg_table,
            )
        except ReconcileError as exc:
            bar.stop()
            if as_json:
                emit_json(exc.to_dict())
            run = f"（照合 {exc.run_id} は失敗として記録）" if exc.run_id is not None else ""
            console.print(f"[red]エラー:[/red] {exc.code} {escape(exc.message)}{run}", soft_wrap=True)
            raise typer.Exit(1) from None
    if as_json:
        emit_json(_json(info))
    else:
        _print_run(info)


@app.command("show")
def show_cmd(
    run_id: Annotated[int, typer.Argument(help="照合の番号")],
    file: FileOption = FileKind.PREF,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """保存された照合の状態と件数を表示する（差異の内容は個人情報を含むため表示しない）。"""
    db = open_database()
    with db.connect(file_spec(file).db_role) as conn:
        info = get_run(conn, file, run_id)
        if info is None:
            console.print(f"[red]エラー:[/red] E_RECON_NOT_FOUND 照合 {run_id} はありません（{file.value}）")
            raise typer.Exit(1)
    if as_json:
        emit_json(_json(info))
    else:
        _print_run(info)


@app.command("list")
def list_cmd(
    file: FileOption = FileKind.PREF,
    municipality: Annotated[str | None, typer.Option(help="この市町村の照合だけ")] = None,
    limit: Annotated[int, typer.Option(min=1, help="表示する件数（新しい順）")] = 20,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """最近の照合の一覧。"""
    db = open_database()
    with db.connect(file_spec(file).db_role) as conn:
        runs = list_runs(conn, file, municipality, limit)
    emit_rows(
        "照合",
        [
            Column("run_id", "照合"),
            Column("municipality_code", "市町村"),
            Column("status_text", "状態"),
            Column("started_at", "開始"),
            Column("uploaded_rows", "アップロード行"),
            Column("differences", "差異"),
            Column("requested_by", "依頼者"),
        ],
        [
            _json(r)
            | {
                "status_text": STATUS_LABELS.get(r.status, r.status)
                + (f" {r.error_code}" if r.error_code else ""),
                "differences": (r.counts or {}).get("differences", 0) if r.counts else None,
            }
            for r in runs
        ],
        resolve_format(fmt, as_json),
        json_value=[_json(r) for r in runs],
    )
