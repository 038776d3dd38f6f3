"""`juki pki init|issue|revoke|crl|list`: the private CA of the juki network (mTLS between machines).

The PKI lives in ``<JUKI_DATA_DIR>/pki``. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from juki.domain.peers import PeerRole
from juki.interfaces.common import console, emit_json
from juki.services.access.pki import Pki, PkiError

app = typer.Typer(help="ネットワーク内の私設認証局（CA・証明書の発行・失効・CRL）", no_args_is_help=True)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn an expected failure into one line on stderr and exit 1 (never a traceback)."""
    try:
        yield
    except (PkiError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None


@app.command("init")
def init_cmd(
    common_name: Annotated[str, typer.Option("--cn", help="CA certificate common name")] = "juki network CA",
    days: Annotated[int, typer.Option(min=1, help="validity in days")] = 3650,
) -> None:
    """CA（鍵と自己署名証明書）と空の CRL を作る（既存の CA は上書きしない）。"""
    pki = Pki()
    with _clear_errors():
        ca = pki.init(common_name=common_name, days=days)
    console.print(f"CA created: {ca} (key {pki.ca_key_path}, CRL {pki.crl_path})", soft_wrap=True)


@app.command("issue")
def issue_cmd(
    role: Annotated[PeerRole, typer.Argument(help="peer role", case_sensitive=False)],
    name: Annotated[str, typer.Argument(help="certificate name (CN and file name)")],
    lg_code: Annotated[
        str | None, typer.Option("--lg-code", help="地方公共団体コード (municipal_cs)")
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--requester", help="依頼元コード of the provision catalog (line_agent)")
    ] = None,
    dns: Annotated[list[str] | None, typer.Option("--dns", help="DNS name (repeatable)")] = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="IP address (repeatable)")] = None,
    days: Annotated[int, typer.Option(min=1, help="validity in days")] = 825,
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
            f"issued {role.value} {name} serial {issued.serial}: {issued.cert_path}", soft_wrap=True
        )


@app.command("revoke")
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="certificate name or serial")],
    reason: Annotated[str, typer.Option(help="RFC 5280 reason, e.g. keyCompromise")] = "unspecified",
    days: Annotated[int, typer.Option(min=1, help="validity of the new CRL in days")] = 7,
) -> None:
    """証明書を失効させ、CRL を発行し直す（サーバが CRL を読み直すと拒否される）。"""
    pki = Pki()
    with _clear_errors():
        entry = pki.revoke(name, reason=reason)
        crl = pki.publish_crl(days=days)
    console.print(f"revoked {entry['name']} serial {entry['serial']}; CRL published: {crl}", soft_wrap=True)


@app.command("crl")
def crl_cmd(
    days: Annotated[int, typer.Option(min=1, help="validity in days")] = 7,
    renew_before: Annotated[
        float | None,
        typer.Option(
            "--renew-before",
            min=0,
            help="only when the current CRL expires within this many days (for a daily job)",
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
        console.print(f"CRL not due (next update {until}): {pki.crl_path}", soft_wrap=True)
    else:
        console.print(f"CRL published: {crl} (next update {until})", soft_wrap=True)


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """発行した証明書の一覧（有効・失効・期限切れ）を表示する。"""
    with _clear_errors():
        rows = Pki().list()
    if as_json:
        emit_json(rows)
        return
    columns = ("status", "role", "name", "lg_code", "not_after", "revoked_at", "serial")
    console.print("\t".join(columns), soft_wrap=True, style="bold")
    for row in rows:
        console.print(escape("\t".join(str(row.get(c) or "-") for c in columns)), soft_wrap=True)
