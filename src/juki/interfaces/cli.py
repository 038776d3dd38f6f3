"""The `juki` command line.

Exit codes: 0 success; 1 failure (the message says why); 2 usage error; 3 done, but some items
were rejected (they are recorded with their error codes; everything valid was applied).
Machine-readable output with --json where a script would want it.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from juki.config import Settings
from juki.interfaces import (
    cli_admin,
    cli_audit,
    cli_backup,
    cli_bulk,
    cli_centre,
    cli_data,
    cli_ha,
    cli_jobs,
    cli_pki,
    cli_provision,
    cli_reconcile,
    cli_relay,
    cli_stats,
    cli_terminal,
    cli_terminal_web,
)
from juki.interfaces.cli_output import Column, FormatOption, JsonOption, emit_value, resolve_format
from juki.interfaces.common import console, open_database
from juki.store.db import Database, DbRole
from juki.store.migrate import head, migrate

app = typer.Typer(
    help="juki — 都道府県サーバ / 附票都道府県サーバ (住基ネット) の実装",
    no_args_is_help=True,
    add_completion=False,
    # click's plain help instead of typer's rich panels: the panels cut Japanese help (which has no
    # spaces to wrap at) with "…" at 80 columns; plain help keeps every word (issue 10 item 13).
    rich_markup_mode=None,
)
db_app = typer.Typer(help="組み込み PostgreSQL の操作 (start / stop / status)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cli_pki.app, name="pki")
app.add_typer(cli_relay.app, name="relay")
app.add_typer(cli_reconcile.app, name="reconcile")
app.add_typer(cli_audit.app, name="audit")
# One registration style: every CLI module has its own `app`; a group is added under its name, a
# module of top-level commands (`juki synth`, `juki serve-terminal` …) without one.
app.add_typer(cli_data.app)
app.add_typer(cli_terminal.app)
app.add_typer(cli_terminal_web.app)
app.add_typer(cli_stats.app)
app.add_typer(cli_provision.app, name="provision")
cli_bulk.attach(cli_provision.app)  # juki provision agent / media / bulk (F1-2b)
app.add_typer(cli_jobs.app, name="jobs")
app.add_typer(cli_backup.app, name="backup")
app.add_typer(cli_ha.app, name="ha")
app.add_typer(cli_admin.app)
app.add_typer(cli_centre.app, name="centre")  # issue 14: the consolidation centre


@db_app.command("start")
def db_start() -> None:
    """組み込みクラスタを起動し、マイグレーションを適用する（起動済みなら何もしない）。"""
    db = open_database()
    where = db.cluster.socket_dir if db.cluster else "external"
    console.print(f"データベースを起動しました（{where}）。スキーマ版 {head()}")


@db_app.command("stop")
def db_stop() -> None:
    """組み込みクラスタを停止する（停止済みなら何もしない）。"""
    settings = Settings.from_env()
    if settings.database_url:
        console.print("JUKI_DATABASE_URL（外部のデータベース）を使っているため、停止するものはありません")
        return
    from juki.store.embedded import EmbeddedCluster, find_binaries

    EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries)).stop()
    console.print("データベースを停止しました")


@db_app.command("status")
def db_status(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """クラスタの状態と各ファイルの件数を表示する。"""
    settings = Settings.from_env()
    output = resolve_format(fmt, as_json)
    info: dict[str, Any] = {"data_dir": str(settings.data_dir), "external": bool(settings.database_url)}
    if not settings.database_url:
        from juki.store.embedded import EmbeddedCluster, find_binaries

        cluster = EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries))
        info["running"] = cluster.is_running()
        info["binaries"] = cluster.binaries.source
    if settings.database_url or info["running"]:
        from juki.services.statistics.counters import file_counts

        db = Database.open(settings)
        with db.connect() as conn:
            info["counts"] = file_counts(conn)
    if output == "json":
        emit_value("", [], info, output)
        return
    # Flat fields (one per count) so a table, TSV and CSV all read without nested dicts.
    flat = {k: v for k, v in info.items() if k != "counts"} | info.get("counts", {})
    fields = [Column(key, _STATUS_LABELS.get(key, key)) for key in flat]
    emit_value("データベースの状態", fields, flat, output)


_STATUS_LABELS = {
    "data_dir": "データディレクトリ",
    "external": "外部のデータベース",
    "running": "起動中",
    "binaries": "PostgreSQL のバイナリ",
}


@app.command("migrate")
def migrate_cmd(to: Annotated[int | None, typer.Option(help="移行先の版（省略時は最新）")] = None) -> None:
    """スキーマを最新（または指定版）に移行する。"""
    from psycopg.conninfo import conninfo_to_dict

    db = Database.open(Settings.from_env())
    # Say where and as whom before changing anything (never the password): on a real server the
    # administrator must see that the URL names the intended cluster and the administration role.
    where = {
        k: v
        for k, v in conninfo_to_dict(db.admin_conninfo).items()
        if k in ("host", "port", "dbname", "user")
    }
    console.print("移行先: " + " ".join(f"{k}={v}" for k, v in where.items()), soft_wrap=True)
    with db.connect(autocommit=True) as conn:
        applied = migrate(conn, target=to)
    for m in applied:
        console.print(f"適用: {m.version:04d} {m.name}")
    console.print(f"マイグレーションを {len(applied)} 件適用しました。最新の版は {head()} です")


@app.command("purge")
def purge_cmd(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """保存期間表のとおり、保存期間を過ぎた記録を消去する（定期処理 retention_purge を今すぐ実行）。"""
    from juki.services.operations.retention import RETENTION
    from juki.services.operations.runner import run_job

    # One implementation: the retention table's purge, run and recorded as the scheduled job is
    # (term.job_runs, an operation-log row), so a purge by hand is on the jobs page too.
    db = open_database()
    run = run_job(db, db.settings, "retention_purge")
    labels = {kind.kind: kind.label for kind in RETENTION}
    report = {key: value for key, value in run.figures.items() if key in labels}
    fields = [Column(key, labels[key]) for key in report]
    emit_value("削除した件数", fields, report, resolve_format(fmt, as_json))
    if run.outcome != "succeeded":
        console.print(
            f"[red]{run.error_code}[/red]: 消去できなかった種類があります（{run.figures.get('detail', '')}）",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="待ち受けるアドレス")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="待ち受けるポート")] = 8443,
    cert_name: Annotated[str, typer.Option(help="このサーバの証明書（PKI 内の名前）")] = "pref-server",
) -> None:
    """市町村CSからの異動通知を相互TLSで受け付けるサーバを起動する（証明書は `juki pki` で発行）。"""
    import logging

    import uvicorn

    from juki.interfaces.intake_api import create_intake_app
    from juki.interfaces.tls_server import server_config
    from juki.services.access.pki import Pki, ReloadingServerContext

    # juki.tls: refused handshakes (address and reason) and CRL reloads, next to uvicorn's lines.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A real deployment: the schema is checked as juki_pref (no juki_admin password), never migrated.
    db = open_database(role=DbRole.PREF)
    pki = Pki(db.settings.pki_directory, prefecture=db.settings.prefecture)
    context = ReloadingServerContext(
        pki.cert_path(cert_name),
        pki.key_path(cert_name),
        pki.ca_cert_path,
        pki.crl_path,
        reload_seconds=db.settings.crl_reload_seconds,
    )
    console.print(f"受付サーバ: https://{host}:{port}（クライアント証明書が必要）")
    uvicorn.Server(
        server_config(create_intake_app(db), context, host=host, port=port, log_level="info")
    ).run()


def main() -> None:
    try:
        app()
    except Exception as exc:  # a clear one-line error, never a stack trace, for operators
        if "--debug" in sys.argv or not isinstance(exc, RuntimeError | OSError):
            raise
        console.print(f"[red]エラー:[/red] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
