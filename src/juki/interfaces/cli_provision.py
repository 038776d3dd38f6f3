"""`juki provision catalog …`: the legal-basis catalog of provision and transfer (docs/provision.md).

`show` lists the catalog in force (no personal data) and the proposals; `propose FILE.toml` files a
whole new version; `approve ID` / `reject ID` decide one. A decision needs another administrator
than the proposer (four eyes), so `propose`, `approve` and `reject` ask for the administrator's
password at the prompt (never on the command line) and act as that authenticated operator; every
step is in the operation log.

Exit codes: 0 done; 1 refused (the stable refusal code and the Japanese message are printed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import typer
from rich.markup import escape
from rich.table import Table

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access.actor import Actor
from juki.services.provision import catalog_changes
from juki.services.provision.catalog import load_catalog
from juki.store.db import DbRole

__all__ = ["app"]

app = typer.Typer(help="提供・移転（他の執行機関への提供・他部署への移転）", no_args_is_help=True)
catalog_app = typer.Typer(
    help="提供カタログ（依頼元・事務・法的根拠・提供項目）の表示・変更案・承認", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")

T = TypeVar("T")
LoginOption = Annotated[
    str, typer.Option("--login", help="操作するシステム管理者の操作者ID（パスワードを入力）")
]
JsonOption = Annotated[bool, typer.Option("--json", help="機械可読な JSON を標準出力へ")]
_COLUMNS = ("依頼元", "事務", "法的根拠", "ファイル", "検索キー", "提供方法", "個人番号付加", "有効期間")


@contextmanager
def _term() -> Iterator[tuple[psycopg.Connection[Any], Settings]]:
    db = open_database()
    try:
        with db.connect(DbRole.TERM, autocommit=True) as conn:
            yield conn, db.settings
    except Refusal as refusal:
        console.print(f"[red]{refusal.code}[/red]: {escape(refusal.message_ja)}", soft_wrap=True)
        raise typer.Exit(1) from None


def _as_admin(login: str, work: Callable[[psycopg.Connection[Any], Actor], T]) -> T:
    password = typer.prompt(f"{login} のパスワード", hide_input=True)
    with _term() as (conn, settings):
        actor = catalog_changes.console_administrator(conn, settings, login, password)
        return work(conn, actor)


@catalog_app.command("show")
def show(as_json: JsonOption = False) -> None:
    """施行中の提供カタログと変更案の一覧を表示します（個人情報を含みません）。"""
    with _term() as (conn, _):
        catalog = load_catalog(conn)
        proposals = catalog_changes.proposals(conn)
    if as_json:
        emit_json(
            {
                "version": catalog.version,
                "tasks": [
                    {
                        "requester": t.requester.code,
                        "requester_name": t.requester.name,
                        "kind": t.requester.kind.value,
                        "task": t.code,
                        "name": t.name,
                        "legal_path": t.legal_path.value,
                        "items": {f.value: list(cols) for f, cols in t.items.items()},
                        "keys": sorted(k.value for k in t.keys),
                        "methods": sorted(m.value for m in t.methods),
                        "my_number_addon": t.my_number_addon,
                        "valid_from": t.valid_from.isoformat(),
                        "valid_to": t.valid_to.isoformat() if t.valid_to else None,
                        "example": t.example,
                    }
                    for t in catalog.tasks.values()
                ],
                "proposals": [
                    {"id": p.id, "decision": p.decision, "by": p.proposed_by_login, "reason": p.reason}
                    for p in proposals
                ],
            }
        )
        return
    table = Table(title=f"提供カタログ（版 {catalog.version}）")
    for column in _COLUMNS:
        table.add_column(column)
    for t in catalog.tasks.values():
        table.add_row(
            escape(f"{t.requester.name}（{t.requester.code}）"),
            escape(f"{t.name}（{t.code}）" + ("［例］" if t.example else "")),
            escape(" / ".join(t.legal_path_label(f) for f in t.items)),
            " ".join(f.value for f in t.items),
            " ".join(k.label for k in t.keys),
            " ".join(m.label for m in t.methods),
            "可" if t.my_number_addon else "-",
            f"{t.valid_from}～{t.valid_to or ''}",
        )
    console.print(table)
    pending = [p for p in proposals if p.decision is None]
    for p in pending:
        by = escape(p.proposed_by_login)
        console.print(f"承認待ちの変更案 {p.id}: {escape(p.reason)}（{by}、版 {p.base_version} から）")


@catalog_app.command("propose")
def propose(
    file: Annotated[Path, typer.Argument(help="新しい版のカタログ（provision_catalog.toml と同じ形式）")],
    reason: Annotated[str, typer.Option("--reason", help="変更の理由（必須）")],
    login: LoginOption,
) -> None:
    """カタログの新しい版を変更案として提出します（別のシステム管理者の承認で施行）。"""
    text = file.read_text(encoding="utf-8")
    number = _as_admin(login, lambda conn, actor: catalog_changes.propose(conn, text, reason, actor))
    console.print(f"変更案 {number} を提出しました。別のシステム管理者が承認すると施行されます。")


@catalog_app.command("approve")
def approve(
    proposal: Annotated[int, typer.Argument(help="変更案の番号")],
    login: LoginOption,
    note: Annotated[str, typer.Option("--note", help="承認の備考")] = "",
) -> None:
    """変更案を承認し、直ちに施行します（提出者以外のシステム管理者のみ）。"""
    _as_admin(login, lambda conn, actor: catalog_changes.approve(conn, proposal, actor, note))
    console.print(f"変更案 {proposal} を承認しました。提供カタログ 版 {proposal} が施行中です。")


@catalog_app.command("reject")
def reject(
    proposal: Annotated[int, typer.Argument(help="変更案の番号")],
    reason: Annotated[str, typer.Option("--reason", help="却下の理由（必須）")],
    login: LoginOption,
) -> None:
    """変更案を却下（提出者は取下げ）します。"""
    _as_admin(login, lambda conn, actor: catalog_changes.reject(conn, proposal, actor, reason))
    console.print(f"変更案 {proposal} を却下しました。")
