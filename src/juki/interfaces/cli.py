"""The `juki` command line.

Exit codes: 0 success; 1 failure (the message says why); 2 usage error; 3 done, but some items
were rejected (they are recorded with their error codes; everything valid was applied).
Machine-readable output with --json where a script would want it.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from juki.config import Settings
from juki.interfaces import (
    cli_audit,
    cli_backup,
    cli_data,
    cli_jobs,
    cli_pki,
    cli_reconcile,
    cli_relay,
    cli_terminal,
    cli_terminal_web,
)
from juki.interfaces.common import console, emit_json, open_database
from juki.store.db import Database
from juki.store.migrate import head, migrate

app = typer.Typer(
    help="juki — 都道府県サーバ / 附票都道府県サーバ (住基ネット) の実装",
    no_args_is_help=True,
    add_completion=False,
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
app.add_typer(cli_jobs.app, name="jobs")
app.add_typer(cli_backup.app, name="backup")


@db_app.command("start")
def db_start() -> None:
    """組み込みクラスタを起動し、マイグレーションを適用する（起動済みなら何もしない）。"""
    db = open_database()
    where = db.cluster.socket_dir if db.cluster else "external"
    console.print(f"database ready ({where}), schema version {head()}")


@db_app.command("stop")
def db_stop() -> None:
    """組み込みクラスタを停止する（停止済みなら何もしない）。"""
    settings = Settings.from_env()
    if settings.database_url:
        console.print("JUKI_DATABASE_URL is set: nothing to stop")
        return
    from juki.store.embedded import EmbeddedCluster, find_binaries

    EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries)).stop()
    console.print("database stopped")


@db_app.command("status")
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """クラスタの状態と各ファイルの件数を表示する。"""
    settings = Settings.from_env()
    info: dict[str, Any] = {"data_dir": str(settings.data_dir), "external": bool(settings.database_url)}
    if not settings.database_url:
        from juki.store.embedded import EmbeddedCluster, find_binaries

        cluster = EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries))
        info["running"] = cluster.is_running()
        info["binaries"] = cluster.binaries.source
        if not info["running"]:
            emit_json(info) if as_json else console.print(info)
            return
    from juki.services.statistics.counters import file_counts

    db = Database.open(settings)
    with db.connect() as conn:
        info["counts"] = file_counts(conn)
    if as_json:
        emit_json(info)
    else:
        console.print_json(json.dumps(info, ensure_ascii=False, default=str))


@app.command("migrate")
def migrate_cmd(to: Annotated[int | None, typer.Option(help="target version")] = None) -> None:
    """スキーマを最新（または指定版）に移行する。"""
    db = Database.open(Settings.from_env())
    with db.connect(autocommit=True) as conn:
        applied = migrate(conn, target=to)
    console.print(f"applied {len(applied)} migration(s); head is {head()}")


@app.command("purge")
def purge_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """保存期間を過ぎたデータを削除する（R-04, R-06: 150年、一時保存の個人番号）。"""
    from juki.services.registry.purge import purge

    db = open_database()
    report = purge(db)
    emit_json(report) if as_json else console.print(report)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8443,
    cert_name: Annotated[str, typer.Option(help="this server's certificate in the PKI")] = "pref-server",
) -> None:
    """市町村CSからの異動通知を相互TLSで受け付けるサーバを起動する（証明書は `juki pki` で発行）。"""
    import logging

    import uvicorn

    from juki.interfaces.intake_api import create_intake_app
    from juki.interfaces.tls_server import server_config
    from juki.services.access.pki import Pki, ReloadingServerContext

    # juki.tls: refused handshakes (address and reason) and CRL reloads, next to uvicorn's lines.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = open_database()
    pki = Pki(db.settings.data_dir / "pki")
    context = ReloadingServerContext(
        pki.cert_path(cert_name),
        pki.key_path(cert_name),
        pki.ca_cert_path,
        pki.crl_path,
        reload_seconds=db.settings.crl_reload_seconds,
    )
    console.print(f"intake listening on https://{host}:{port} (client certificates required)")
    uvicorn.Server(
        server_config(create_intake_app(db), context, host=host, port=port, log_level="info")
    ).run()


def main() -> None:
    try:
        app()
    except Exception as exc:  # a clear one-line error, never a stack trace, for operators
        if "--debug" in sys.argv or not isinstance(exc, RuntimeError | OSError):
            raise
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
