"""`juki jobs list|run|status|systemd`: the scheduled jobs (issue 13 item 2; docs/operations.md).

`run` is what the systemd timers call; `status --json` is for monitoring (exit 1 when a job is
missed or failed). The embedded default runs the jobs itself inside `juki serve-terminal` and
`juki demo`; `systemd --output DIR` writes the units and timers for a real deployment.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from juki.domain.errors import CATALOG
from juki.interfaces.common import console, emit_json, open_database
from juki.services.operations import runs
from juki.services.operations.definitions import JOBS
from juki.services.operations.runner import run_job
from juki.services.operations.systemd import write_units
from juki.store.db import DbRole

app = typer.Typer(
    help="定期処理（チェックポイント・保存期間の消去・CRL 更新・バックアップ等）", no_args_is_help=True
)


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """定義されている定期処理と実行間隔（UTC の cron 形式）を表示する。"""
    rows = [{"job": j.name, "label": j.label, "cron": j.cron, "requirement": j.requirement} for j in JOBS]
    if as_json:
        emit_json(rows)
        return
    table = Table("job", "cron (UTC)", "内容", "要件")
    for row in rows:
        table.add_row(row["job"], row["cron"], row["label"], row["requirement"])
    console.print(table)


@app.command("run")
def run_cmd(
    name: Annotated[str, typer.Argument(help="定期処理の名前（juki jobs list）")],
    trigger: Annotated[str, typer.Option(help="manual / systemd")] = "manual",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """定期処理を1回実行し、その記録（開始・終了・結果・件数）を残す。失敗なら終了コード 1。"""
    if trigger not in ("manual", "systemd"):
        raise typer.BadParameter("manual または systemd です", param_hint="--trigger")
    if name not in {j.name for j in JOBS}:
        console.print(f"[red]E_JOB_UNKNOWN {CATALOG['E_JOB_UNKNOWN'].message_ja}: {escape(name)}[/red]")
        raise typer.Exit(1)
    db = open_database()
    run = run_job(db, db.settings, name, trigger=trigger)
    if as_json:
        emit_json(run.to_dict())
    elif run.error_code:
        console.print(f"[red]{run.job}: {run.error_code} {escape(CATALOG[run.error_code].message_ja)}[/red]")
    else:
        console.print(f"{run.job}: 成功 {run.seconds or 0:.1f} 秒 {escape(run.figures_text())}")
    if run.error_code:
        raise typer.Exit(1)


@app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """各定期処理の最終実行と、実行漏れ・失敗の有無（あれば終了コード 1）。"""
    db = open_database()
    with db.connect(DbRole.TERM) as conn:
        states = runs.status(conn, datetime.now(UTC))
    if as_json:
        emit_json([s.to_dict() for s in states])
    else:
        table = Table("job", "最終実行", "結果", "最終成功", "警告")
        for s in states:
            flag = "実行漏れ" if s.missed else ""
            flag += " 失敗" if s.failed else ""
            table.add_row(
                s.job.name,
                s.last.started_at.isoformat(timespec="seconds") if s.last else "—",
                (s.last.error_code or s.last.outcome) if s.last else "—",
                s.last_success.finished_at.isoformat(timespec="seconds")
                if s.last_success and s.last_success.finished_at
                else "—",
                flag.strip() or "—",
            )
        console.print(table)
    if any(s.flagged for s in states):
        raise typer.Exit(1)


@app.command("systemd")
def systemd_cmd(
    output: Annotated[
        Path, typer.Option("--output", help="unit ファイルを書き出すディレクトリ", file_okay=False)
    ],
    user: Annotated[str, typer.Option(help="ジョブを実行する OS ユーザー")] = "juki",
    juki_path: Annotated[str | None, typer.Option("--juki", help="juki コマンドの絶対パス")] = None,
) -> None:
    """本番用の systemd の .service / .timer を定期処理の定義から生成する。"""
    import os

    juki = juki_path or shutil.which("juki") or str(Path(sys.argv[0]).resolve())
    keep = {k: v for k, v in os.environ.items() if k.startswith("JUKI_") and k != "JUKI_DATABASE_URL"}
    written = write_units(output, juki, keep, user)
    for path in written:
        console.print(str(path))
    console.print(
        "有効化: sudo cp … /etc/systemd/system/ && sudo systemctl daemon-reload && "
        "sudo systemctl enable --now juki-job-*.timer（JUKI_DATABASE_URL は ~/.pgpass と環境ファイルで）"
    )
