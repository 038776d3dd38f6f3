"""`juki pki init|issue|revoke|crl|list|verify-pdf`: the private CA of the juki network (mTLS between
machines), and the check of a signed form (帳票) against its certificate and CRL.

The PKI lives in ``<JUKI_DATA_DIR>/pki``. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from juki.domain.peers import PeerRole
from juki.interfaces.cli_output import Column, FormatOption, JsonOption, emit_rows, resolve_format
from juki.interfaces.common import console, emit_json
from juki.services.access.pki import Pki, PkiError

app = typer.Typer(help="ネットワーク内の私設認証局（CA・証明書の発行・失効・CRL）", no_args_is_help=True)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn an expected failure into one line on stderr and exit 1 (never a traceback)."""
    try:
        yield
    except (PkiError, ValueError, OSError) as exc:
        console.print(f"[red]エラー:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None


@app.command("init")
def init_cmd(
    common_name: Annotated[
        str | None,
        typer.Option(
            "--cn", help="CA 証明書の共通名（CN）。既定は juki network CA <都道府県コード> <都道府県名>"
        ),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="有効期間（日）")] = 3650,
) -> None:
    """CA（鍵と自己署名証明書）と空の CRL を作る（既存の CA は上書きしない）。"""
    pki = Pki()
    with _clear_errors():
        ca = pki.init(common_name=common_name, days=days)
    console.print(f"CA を作成しました: {ca}（鍵 {pki.ca_key_path}、CRL {pki.crl_path}）", soft_wrap=True)


@app.command("issue")
def issue_cmd(
    role: Annotated[PeerRole, typer.Argument(help="相手の役割", case_sensitive=False)],
    name: Annotated[str, typer.Argument(help="証明書の名前（CN とファイル名）")],
    lg_code: Annotated[
        str | None, typer.Option("--lg-code", help="地方公共団体コード (municipal_cs)")
    ] = None,
    requester: Annotated[
        str | None,
        typer.Option("--requester", help="回線連携エージェント（line_agent）の依頼元コード（提供カタログ）"),
    ] = None,
    dns: Annotated[list[str] | None, typer.Option("--dns", help="DNS 名（複数指定可）")] = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="IP アドレス（複数指定可）")] = None,
    days: Annotated[int, typer.Option(min=1, help="有効期間（日）")] = 825,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """役割（と市町村CSは地方公共団体コード）を記した証明書と鍵を発行する。"""
    with _clear_errors():
        issued = Pki().issue(
            role,
            name,
            lg_code=lg_code,
            requester=requester,
            dns_names=dns or (),
            ip_addresses=ip or (),
            days=days,
        )
    result = {
        "serial": issued.serial,
        "name": name,
        "role": role.value,
        "lg_code": lg_code,
        "requester": requester,
        "cert": str(issued.cert_path),
        "key": str(issued.key_path),
    }
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"発行しました: {role.value} {name}（シリアル {issued.serial}）: {issued.cert_path}",
            soft_wrap=True,
        )


@app.command("revoke")
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="証明書の名前またはシリアル番号")],
    reason: Annotated[str, typer.Option(help="失効理由（RFC 5280。例: keyCompromise）")] = "unspecified",
    days: Annotated[int, typer.Option(min=1, help="新しい CRL の有効期間（日）")] = 7,
) -> None:
    """証明書を失効させ、CRL を発行し直す（サーバが CRL を読み直すと拒否される）。"""
    pki = Pki()
    with _clear_errors():
        entry = pki.revoke(name, reason=reason)
        crl = pki.publish_crl(days=days)
    console.print(
        f"失効しました: {entry['name']}（シリアル {entry['serial']}）。CRL を発行しました: {crl}",
        soft_wrap=True,
    )


@app.command("crl")
def crl_cmd(
    days: Annotated[int, typer.Option(min=1, help="有効期間（日）")] = 7,
    renew_before: Annotated[
        float | None,
        typer.Option(
            "--renew-before",
            min=0,
            help="現在の CRL の期限がこの日数以内のときだけ発行する（日次ジョブ用）",
        ),
    ] = None,
) -> None:
    """失効した全証明書を載せた CRL を発行する（--renew-before: 期限が近いときだけ。日次ジョブ用）。"""
    pki = Pki()
    with _clear_errors():
        if renew_before is None:
            crl: Path | None = pki.publish_crl(days=days)
        else:
            crl = pki.renew_crl(renew_before, days=days)
        next_update = pki.crl_next_update()
    until = next_update.isoformat() if next_update else "-"
    if crl is None:
        console.print(f"CRL の更新はまだ不要です（次回更新 {until}）: {pki.crl_path}", soft_wrap=True)
    else:
        console.print(f"CRL を発行しました: {crl}（次回更新 {until}）", soft_wrap=True)


@app.command("verify-pdf")
def verify_pdf_cmd(
    pdf: Annotated[Path, typer.Argument(help="署名付きの帳票（PDF）")],
) -> None:
    """帳票の電子署名を、この CA の証明書と CRL で検証する（真正なら終了コード 0）。"""
    from juki.interfaces.forms import verify_pdf  # the PDF libraries load only for this command

    pki = Pki()
    with _clear_errors():
        data = pdf.read_bytes()
    status = verify_pdf(data, pki.ca_cert_path, pki.crl_path)
    if status.genuine:
        console.print(f"真正です: {escape(status.signer)}（改変なし・失効なし）", soft_wrap=True)
        return
    console.print(f"[red]真正と確認できません:[/red] {escape(status.reason)}", soft_wrap=True)
    raise typer.Exit(1)


@app.command("list")
def list_cmd(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """発行した証明書の一覧（有効・失効・期限切れ）を表示する。"""
    with _clear_errors():
        rows = Pki().list()
    emit_rows(
        "証明書",
        [
            Column("status", "状態"),
            Column("role", "役割"),
            Column("name", "名前"),
            Column("lg_code", "地方公共団体コード"),
            Column("not_after", "有効期限"),
            Column("revoked_at", "失効日時"),
            Column("serial", "シリアル番号"),
        ],
        [row | {k: _when(row.get(k)) for k in ("not_after", "revoked_at")} for row in rows],
        resolve_format(fmt, as_json),
    )


def _when(value: object) -> object:
    """The index keeps times as ISO text in UTC; shown, like every time, in Japan time."""
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@app.command("import")
def import_cmd(
    ca_cert: Annotated[Path, typer.Option("--ca-cert", help="県の CA 証明書（PEM）")],
    cert: Annotated[Path, typer.Option("--cert", help="この CA が発行したサーバの証明書（PEM）")],
    key: Annotated[Path, typer.Option("--key", help="その秘密鍵（PEM、暗号化なし）")],
    name: Annotated[str, typer.Option("--name", help="PKI 内の名前（例: pref-server）")],
    crl: Annotated[Path | None, typer.Option("--crl", help="CA の CRL（PEM）")] = None,
) -> None:
    """県の CA が発行した証明書・鍵・CRL を検証して取り込む（juki pki init の代わり）。"""
    from juki.services.access.pki_import import import_certificate

    with _clear_errors():
        done = import_certificate(Pki(), ca_cert=ca_cert, name=name, cert=cert, key=key, crl=crl)
    console.print(
        f"取り込みました: {done.name}（役割 {done.role}、"
        f"有効期限 {done.not_after:%Y-%m-%d}）→ {done.cert_path}",
        soft_wrap=True,
    )


@app.command("import-crl")
def import_crl_cmd(crl: Annotated[Path, typer.Argument(help="県の CA が発行した新しい CRL（PEM）")]) -> None:
    """県の CA の新しい CRL を検証して取り込む（動作中のサーバは JUKI_CRL_RELOAD_SECONDS 以内に読み込む）。"""
    from juki.services.access.pki_import import import_crl

    with _clear_errors():
        path = import_crl(Pki(), crl)
    console.print(f"CRL を取り込みました: {path}", soft_wrap=True)
