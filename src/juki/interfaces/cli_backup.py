"""`juki backup keygen|run|list|restore|check`: encrypted backups (S-46, S-47, S-19, R-09, REC-9).

`run` takes a full and an operation-log backup now (the daily job does the same); `restore STEM
--verify` restores into a scratch cluster and proves it; `restore STEM` (no --verify) restores into
the configured embedded cluster after a fault and refuses if the database exists. `check` records
the weekly checklist of the backup media.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from juki.config import Settings
from juki.domain.errors import CATALOG
from juki.interfaces.common import console, emit_json, open_database
from juki.services.operations import age_keys, checklist, contractor_files, restore
from juki.services.operations import backup as backups
from juki.services.operations.context import JobFailed
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.operations.runner import run_job
from juki.store.db import DbRole
from juki.store.embedded import find_binaries

app = typer.Typer(help="暗号化バックアップ・復元検証・媒体の週次点検", no_args_is_help=True)


def _fail(failed: JobFailed) -> typer.Exit:
    console.print(
        f"[red]{failed.code} {escape(CATALOG[failed.code].message_ja)} {escape(failed.detail)}[/red]"
    )
    return typer.Exit(1)


@app.command("keygen")
def keygen_cmd() -> None:
    """都道府県の age 鍵（復号用の秘密鍵と暗号化用の公開鍵）をデータディレクトリの鍵フォルダに作る。"""
    ops = OperationsSettings.for_settings(Settings.from_env())
    recipient = age_keys.keygen(ops.identity_file, ops.recipients_file)
    console.print(f"受信者（公開鍵）: {recipient}")
    console.print(f"秘密鍵: {ops.identity_file}（バックアップ媒体とは別に保管してください）")


@app.command("run")
def run_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """いま全体と操作ログのバックアップを取る（定期処理 backup と同じ、実行記録あり）。"""
    db = open_database()
    run = run_job(db, db.settings, "backup", trigger="manual")
    if as_json:
        emit_json(run.to_dict())
    if run.error_code:
        console.print(f"[red]{run.error_code} {escape(CATALOG[run.error_code].message_ja)}[/red]")
        raise typer.Exit(1)
    if not as_json:
        console.print(f"バックアップしました: {escape(str(run.figures))}")


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """バックアップ台帳（REC-9）。"""
    db = open_database()
    with db.connect(DbRole.TERM) as conn:
        rows = conn.execute(
            "SELECT file_name, kind, created_at, retain_until, size_bytes, verify_outcome, purged_at"
            " FROM term.backups ORDER BY created_at DESC LIMIT 200"
        ).fetchall()
    keys = ("stem", "kind", "created_at", "retain_until", "bytes", "verified", "purged_at")
    records = [dict(zip(keys, row, strict=True)) for row in rows]
    if as_json:
        emit_json(records)
        return
    table = Table(*keys)
    for record in records:
        table.add_row(*(str(record[k] or "—") for k in keys))
    console.print(table)


@app.command("restore")
def restore_cmd(
    stem: Annotated[str | None, typer.Argument(help="バックアップ名（既定: 最新の全体バックアップ）")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="一時クラスタに復元して検証する（本番には触れない）")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """バックアップを復元し、件数・テーブルごとのハッシュ・操作ログ（juki audit verify）で証明する。"""
    settings = Settings.from_env()
    ops = OperationsSettings.for_settings(settings)
    try:
        if verify:
            db = open_database(settings)
            name = stem or backups.latest_stem(db)
            if name is None:
                raise JobFailed("E_RESTORE_FAILED", "no backup in the register")
            report = restore.verify_backup(find_binaries(settings.pg_binaries), ops, name)
            restore.record_verification(db, name, report)
        else:
            if stem is None:
                raise typer.BadParameter(
                    "障害からの復元ではバックアップ名を指定してください", param_hint="STEM"
                )
            report = restore.restore_embedded(settings, ops, stem)
    except JobFailed as failed:
        raise _fail(failed) from None
    if as_json:
        emit_json(report.to_dict())
    else:
        state = "[green]OK[/green]" if report.ok else "[red]不一致あり[/red]"
        console.print(
            f"{state}: {report.tables} 表 {report.rows:,} 行, 操作ログ {report.audit_rows:,} 件"
            f"（検証 {'合格' if report.audit_ok else '不合格'}）, {report.seconds.get('total', 0):.1f} 秒"
        )
        for name in report.mismatches:
            console.print(f"  E_RESTORE_MISMATCH {escape(name)}")
        if not report.audit_ok:
            console.print(
                f"  E_RESTORE_AUDIT {escape(CATALOG['E_RESTORE_AUDIT'].message_ja)} {report.audit_findings}"
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    by: Annotated[str, typer.Option("--by", help="点検した人（ログイン名）")],
    confirm: Annotated[
        list[str] | None, typer.Option("--confirm", help=f"確認した項目: {', '.join(checklist.CONFIRMED)}")
    ] = None,
    note: Annotated[str, typer.Option(help="備考")] = "",
) -> None:
    """バックアップ媒体の週次点検を記録する（REC-9）。自動確認の項目は juki が調べる。"""
    db = open_database()
    ops = OperationsSettings.for_settings(db.settings)
    try:
        with db.connect(DbRole.TERM, autocommit=True) as conn:
            result = checklist.record_check(conn, ops, datetime.now(UTC), by, set(confirm or []), note)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--confirm") from None
    labels = {**checklist.AUTOMATIC, **checklist.CONFIRMED}
    for key, ok in result.items.items():
        console.print(f"  {'✔' if ok else '✘'} {labels[key]}")
    console.print(f"{result.week_of} の週の点検を記録しました（{'異常なし' if result.all_ok else '要対応'}）")
    if not result.all_ok:
        raise typer.Exit(1)


@app.command("seal")
def seal_cmd(
    folder: Annotated[
        Path, typer.Argument(help="委託先に渡すファイルのフォルダ", exists=True, file_okay=False)
    ],
) -> None:
    """委託先に渡すフォルダの全ファイルを age で暗号化し、平文を消す（S-47）。"""
    ops = OperationsSettings.for_settings(Settings.from_env())
    try:
        sealed = contractor_files.seal_directory(folder, ops)
    except JobFailed as failed:
        raise _fail(failed) from None
    console.print(f"{len(sealed)} 件を暗号化しました（平文は削除）")
