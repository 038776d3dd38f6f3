"""`juki relay run|status|redrive`: deliver the outbox to the 全国サーバ / 附票全国サーバ (mTLS).

Client certificates come from the PKI directory (default ``<JUKI_DATA_DIR>/pki``): the pref relay
presents the certificate named by ``--pref-cert`` (role pref_server), the fuhyo relay ``--fuhyo-cert``
(role fuhyo_server). The servers' URLs come from options or ``JUKI_NATIONAL_URL`` /
``JUKI_FUHYO_NATIONAL_URL``.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from juki.domain.records import FileKind
from juki.files import all_files, file_spec
from juki.interfaces.cli_output import Column, FormatOption, JsonOption, cell, emit_rows, resolve_format
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access.pki import Pki, client_context
from juki.services.jlis import relay

app = typer.Typer(
    help="全国サーバ・附票全国サーバへの通知の送信（アウトボックスの中継）", no_args_is_help=True
)


class FileChoice(StrEnum):
    pref = "pref"
    fuhyo = "fuhyo"


def _files(choice: FileChoice | None) -> list[FileKind]:
    return [FileKind(choice.value)] if choice else [spec.kind for spec in all_files()]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]エラー:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="送信できるものを一度送り切って終了する")] = False,
    file: Annotated[
        FileChoice | None,
        typer.Option("--file", help="pref（全国サーバ宛）または fuhyo（附票全国サーバ宛）。省略時は両方"),
    ] = None,
    national_url: Annotated[
        str | None, typer.Option(envvar="JUKI_NATIONAL_URL", help="全国サーバの URL（https://host:port）")
    ] = None,
    fuhyo_national_url: Annotated[
        str | None, typer.Option(envvar="JUKI_FUHYO_NATIONAL_URL", help="附票全国サーバの URL")
    ] = None,
    pki_dir: Annotated[
        Path | None, typer.Option(help="PKI ディレクトリ（既定: <JUKI_DATA_DIR>/pki）")
    ] = None,
    pref_cert: Annotated[str, typer.Option(help="都道府県サーバのクライアント証明書名")] = "pref-server",
    fuhyo_cert: Annotated[
        str, typer.Option(help="附票都道府県サーバのクライアント証明書名")
    ] = "fuhyo-server",
    workers: Annotated[int, typer.Option(min=1, max=32, help="ファイルごとの送信ワーカー数")] = 1,
    idle_seconds: Annotated[
        float, typer.Option(min=0.01, max=60.0, help="送るものがないときの待ち時間（秒）")
    ] = 1.0,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="一度に確保し、1回の要求で送る行数")
    ] = relay.RelayPolicy.batch_size,
    max_attempts: Annotated[int, typer.Option(min=1, help="この回数失敗したら送信不能（dead）にする")] = 10,
    backoff_base: Annotated[float, typer.Option(min=0.0, help="再送間隔の基準（秒）")] = 1.0,
    backoff_cap: Annotated[float, typer.Option(min=0.0, help="再送間隔の上限（秒）")] = 300.0,
    timeout: Annotated[float, typer.Option(min=0.1, help="1通の送信のタイムアウト（秒）")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="結果を JSON で出力する")] = False,
) -> None:
    """アウトボックスの通知を全国サーバ・附票全国サーバへ送る（--once なしでは Ctrl-C まで続ける）。"""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request would drown the relay's own messages (and cost CPU under load).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    pki = Pki(pki_dir) if pki_dir else Pki()
    try:
        policy = relay.RelayPolicy(
            batch_size=batch_size,
            max_attempts=max_attempts,
            backoff_base_seconds=backoff_base,
            backoff_cap_seconds=backoff_cap,
            timeout_seconds=timeout,
            lease_seconds=max(120.0, timeout * 4),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    peers: dict[FileKind, relay.Peer] = {}
    for kind in _files(file):
        # The file's own server and certificate options are named after it: --national-url /
        # --pref-cert for File 1, --fuhyo-national-url / --fuhyo-cert for File 2.
        spec = file_spec(kind)
        server = spec.national_peer.value
        url: str | None = ctx.params[f"{server}_url"]
        cert_name: str = ctx.params[f"{spec.value}_cert"]
        if not url:
            option = f"--{server.replace('_', '-')}-url / JUKI_{server.upper()}_URL"
            raise _fail(f"{kind.value} の送信先 URL を {option} で指定してください")
        try:
            crl = pki.crl_path if pki.crl_path.exists() else None
            tls = client_context(pki.cert_path(cert_name), pki.key_path(cert_name), pki.ca_cert_path, crl)
        except (OSError, ValueError) as exc:
            raise _fail(f"証明書 {cert_name} を読めません（{pki.directory}）: {exc}") from None
        peers[kind] = relay.Peer(url, tls)

    # A long-running server: on a real deployment it checks the schema as its file's role (no migration).
    db = open_database(role=file_spec(next(iter(peers))).db_role)
    reports = {kind: relay.RelayReport(file=kind.value) for kind in peers}
    lock = threading.Lock()
    stop = threading.Event()

    def work(kind: FileKind) -> None:
        with relay.OutboxRelay(db, kind, peers[kind], policy) as worker:
            worker.conn  # connect now, so "ready" means ready  # noqa: B018
            logging.getLogger("juki.relay").info("relay %s: ready", kind.value)
            done = worker.run_once() if once else worker.run_forever(stop, idle_seconds=idle_seconds)
        with lock:
            reports[kind].add(done)

    threads = [
        threading.Thread(target=work, args=(kind,), name=f"relay-{kind.value}-{n}", daemon=True)
        for kind in peers
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(0.5)
    except KeyboardInterrupt:
        console.print("停止します…")
        stop.set()
        for thread in threads:
            thread.join(timeout + 5)
    out = {kind.value: r.to_dict() for kind, r in reports.items()}
    if as_json:
        emit_json(out)
    else:
        for value in out.values():
            console.print(
                f"{value['file']}: 送信 {value['sent']} 件, 再送待ち {value['retried']} 件, "
                f"送信不能 {value['dead']} 件（相手の応答: {cell(value['answers']) or 'なし'}）"
            )


@app.command("status")
def status_cmd(
    file: Annotated[
        FileChoice | None, typer.Option("--file", help="pref または fuhyo（省略時は両方）")
    ] = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """送信待ち・送信済み・送信不能（dead letter）の件数と最も古い送信待ちの経過時間を表示する。"""
    db = open_database()
    info: dict[str, Any] = relay.status(db, _files(file))
    output = resolve_format(fmt, as_json)
    emit_rows(
        "アウトボックス",
        [
            Column("file", "ファイル"),
            Column("pending", "送信待ち"),
            Column("due", "送信可能"),
            Column("retrying", "再送待ち"),
            Column("claimed", "送信中"),
            Column("sent", "送信済み"),
            Column("dead", "送信不能"),
            Column("oldest", "最古の送信待ち（秒）"),
        ],
        [
            info[kind.value]
            | {
                "file": kind.value,
                "oldest": None
                if info[kind.value]["oldest_pending_age_seconds"] is None
                else f"{info[kind.value]['oldest_pending_age_seconds']:.1f}",
            }
            for kind in _files(file)
        ],
        output,
        json_value=info,
    )
    if output == "table":
        console.print(f"送信不能の合計: {info['dead_letters']} 件")


@app.command("redrive")
def redrive_cmd(
    file: Annotated[FileChoice, typer.Option("--file", help="pref または fuhyo")],
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="この行だけ戻す（複数指定可）。省略時は全部")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
) -> None:
    """送信不能（dead）になった通知を送信待ちに戻す（試行回数は 0 に戻る）。"""
    db = open_database()
    count = relay.redrive(db, FileKind(file.value), ids or None)
    if as_json:
        emit_json({"file": file.value, "redriven": count})
    else:
        console.print(f"{file.value}: 送信不能 {count} 件を送信待ちに戻しました")
