"""`juki provision agent | media … | bulk …`: bulk provision from the command line (F1-2b, S-30, S-33).

* ``agent`` runs on the requester's side, next to its shared folder (S-33): it needs no database, only
  its client certificate (role line_agent, naming its requester: ``juki pki issue line_agent NAME
  --requester CODE``), the CA certificate and the server's URL.
* ``media register | list | dispose | recipients`` keep the electronic-media register
  (電磁的記録媒体管理簿, REC-6, S-30) and list each requester's age recipient (kept in the catalog, changed
  only by ``provision catalog propose`` + another administrator's approval): no personal data, the
  console's administration as juki_term, every change in the operation log.
* ``bulk list | exchanges`` show jobs and their exchanges: states, counts and hashes, never a person.
"""

from __future__ import annotations

import getpass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from juki.domain.records import FileKind
from juki.interfaces.common import console, emit_json, open_database
from juki.interfaces.line_agent import LineAgent
from juki.services.access.pki import Pki, client_context
from juki.services.provision.bulk import media
from juki.services.provision.bulk.jobs import list_exchanges, list_jobs
from juki.store.db import DbRole

__all__ = ["attach"]

media_app = typer.Typer(
    help="電磁的記録媒体管理簿（登録・一覧・廃棄）と依頼元の暗号化の宛先", no_args_is_help=True
)
bulk_app = typer.Typer(help="一括提供の依頼（状態・件数・授受の記録）", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="機械可読な JSON を標準出力へ")]


class FileChoice(StrEnum):
    pref = "pref"
    fuhyo = "fuhyo"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def agent_cmd(
    requester: Annotated[str, typer.Option("--requester", help="依頼元コード（証明書が名指すもの）")],
    folder: Annotated[
        Path, typer.Option("--folder", help="依頼元の共有フォルダ（request/ と result/ を使う）")
    ],
    task: Annotated[str, typer.Option("--task", help="提供カタログの事務コード")],
    server: Annotated[str, typer.Option("--server", envvar="JUKI_LINE_SERVER", help="受付サーバの URL")],
    cert: Annotated[str, typer.Option("--cert", help="PKI の証明書名（役割 line_agent）")],
    file: Annotated[FileChoice, typer.Option("--file", help="pref または fuhyo")] = FileChoice.pref,
    pki_dir: Annotated[Path | None, typer.Option("--pki-dir", help="PKI ディレクトリ")] = None,
    once: Annotated[bool, typer.Option("--once", help="一度だけ送受信して終了する")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="フォルダを見る間隔（秒）")] = 5.0,
    as_json: JsonOption = False,
) -> None:
    """回線連携の代理: request/ の照会要求ファイルを mTLS で送り、照会結果ファイルを result/ へ受け取る。"""
    pki = Pki(pki_dir)
    if not pki.cert_path(cert).exists():
        raise _fail(f"証明書 {cert} がありません（juki pki issue line_agent {cert} --requester {requester}）")
    ctx = client_context(pki.cert_path(cert), pki.key_path(cert), pki.ca_cert_path)
    with LineAgent(
        server_url=server, folder=folder, requester=requester, file=FileKind(file.value), task=task,
        ssl_context=ctx,
    ) as agent:  # fmt: skip
        if not once:
            console.print(f"回線連携: {folder} を {interval} 秒ごとに確認します（Ctrl-C で終了）")
            agent.run_forever(interval)
        report = agent.run_once()
    if as_json:
        emit_json(report.to_dict())
        return
    for name, job in report.sent.items():
        console.print(f"送信 {escape(name)} → 依頼 {job}")
    for name, code in report.refused.items():
        console.print(f"[red]不受理[/red] {escape(name)}: {code}")
    for name, job in report.fetched.items():
        console.print(f"受信 {escape(name)} ← 依頼 {job}")
    for name, job in report.waiting.items():
        console.print(f"待機 {escape(name)}（依頼 {job}）")


@media_app.command("register")
def media_register(
    label: Annotated[str, typer.Option("--label", help="媒体に貼るラベル")],
    serial: Annotated[str, typer.Option("--serial", help="製造番号（英数字）")],
    holder: Annotated[str, typer.Option("--holder", help="保管者")],
    kind: Annotated[str, typer.Option("--kind", help="usb / optical / disk / other")] = "usb",
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """使用できる媒体として登録し、媒体に識別ファイルを書く（S-30, REC-6）。"""
    db = open_database()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        try:
            medium = media.register_medium(
                conn, db.settings, label=label, kind=kind, serial=serial, holder=holder, by=getpass.getuser(),
                note=note,
            )  # fmt: skip
        except media.MediaError as exc:
            raise _fail(str(exc)) from None
    console.print(
        f"登録しました: {escape(medium.label)}（{medium.serial}）→ {media.media_root(db.settings) / serial}"
    )


@media_app.command("list")
def media_list(as_json: JsonOption = False) -> None:
    """電磁的記録媒体管理簿を表示する。"""
    db = open_database()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        rows = media.list_media(conn)
    if as_json:
        emit_json([m.to_dict() for m in rows])
        return
    table = Table("ラベル", "種類", "製造番号", "保管者", "状態", "登録", "廃棄・紛失")
    for m in rows:
        table.add_row(
            m.label, m.kind, m.serial, m.holder, m.status, f"{m.registered_at:%Y-%m-%d} {m.registered_by}",
            f"{m.disposed_at:%Y-%m-%d} {m.disposed_by}" if m.disposed_at else "",
        )  # fmt: skip
    console.print(table)


@media_app.command("dispose")
def media_dispose(
    label: Annotated[str, typer.Argument(help="媒体のラベル")],
    status: Annotated[
        str, typer.Option("--status", help="disposed（廃棄）/ lost（紛失）/ suspended")
    ] = "disposed",
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """媒体を廃棄・紛失・使用停止として記録する（管理簿には残る）。"""
    db = open_database()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        try:
            medium = media.dispose_medium(conn, label=label, status=status, by=getpass.getuser(), note=note)
        except media.MediaError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(medium.label)}: {medium.status}")


@media_app.command("recipients")
def media_recipients(as_json: JsonOption = False) -> None:
    """暗号化の宛先（依頼元の age 公開鍵）の一覧。提供カタログの age_recipient であり、
    変更は `juki provision catalog propose` と別の管理者の承認による。"""
    db = open_database()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        found = media.list_recipients(conn)
    if as_json:
        emit_json(found)
        return
    for code, key in found.items():
        console.print(f"{code}\t{key}")


@bulk_app.command("list")
def bulk_list(
    file: Annotated[FileChoice, typer.Option("--file")] = FileChoice.pref,
    requester: Annotated[str | None, typer.Option("--requester")] = None,
    as_json: JsonOption = False,
) -> None:
    """一括提供の依頼の一覧（状態・件数・ハッシュ。個人の情報は表示しない）。"""
    kind = FileKind(file.value)
    db = open_database()
    with db.connect(DbRole(f"juki_{kind.value}"), autocommit=True) as conn:
        jobs = list_jobs(conn, kind, requester_code=requester, limit=200)
    if as_json:
        emit_json([j.to_dict() for j in jobs])
        return
    table = Table("依頼", "依頼元", "事務", "経路", "件数", "状態", "承認", "結果")
    for j in jobs:
        table.add_row(
            str(j.id), j.requester_code, j.task_code, j.channel, str(j.rows), j.state_label,
            f"{j.decision or ''} {j.decided_by_login or ''}".strip(),
            ", ".join(f"{k}:{v}" for k, v in (j.counts or {}).items()),
        )  # fmt: skip
    console.print(table)


@bulk_app.command("exchanges")
def bulk_exchanges(
    job_id: Annotated[int, typer.Argument()],
    file: Annotated[FileChoice, typer.Option("--file")] = FileChoice.pref,
    as_json: JsonOption = False,
) -> None:
    """依頼の授受の記録（S-23: ファイル名、SHA-256、件数、媒体、操作者・端末または証明書、日時）。"""
    kind = FileKind(file.value)
    db = open_database()
    with db.connect(DbRole(f"juki_{kind.value}"), autocommit=True) as conn:
        rows = list_exchanges(conn, kind, job_id)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        who = r["operator_login"] or r["peer_name"]
        console.print(
            f"{r['at']:%Y-%m-%d %H:%M:%S} {r['kind']} {r['file_name']} {r['rows']}件"
            f" {r['sha256'][:16]}… {who}"
        )


def attach(provision_app: typer.Typer) -> None:
    """Add the bulk commands to `juki provision`."""
    provision_app.command("agent")(agent_cmd)
    provision_app.add_typer(media_app, name="media")
    provision_app.add_typer(bulk_app, name="bulk")
