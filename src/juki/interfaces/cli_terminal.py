"""`juki operator|terminal|rights|admin …`: operators, terminals and access rights from the server console.

The console is whoever runs `juki` on the server with the database administrator's credentials.
Registering operators and terminals from here is logged as "(console)". Rights are *listed* here
(roles, applications, inventory: no personal data) but applied for, approved, rejected and revoked
only on the terminal UI's /rights page (hardening 13): a decision must be taken by an operator who
authenticated, or four-eyes approval (S-12) is nominal — `--as LOGIN` named an approver nobody had
checked. The first administrator comes from `juki admin bootstrap`, with a one-time link by which
that administrator, signed in at a terminal, registers exactly one second administrator
(`services/access/bootstrap.py`; `juki admin second-admin-link` re-issues it until two
administrators have existed). From then on administrators approve each other at a terminal.
One-time tokens are printed once, with the terminal UI's links
(`JUKI_WEBAUTHN_ORIGIN`); only their hashes are stored.

Exit codes: 0 done; 1 refused (the stable refusal code and the Japanese message are printed).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.interfaces.cli_output import (
    Column,
    FormatOption,
    OutputFormat,
    emit_rows,
    print_link,
    resolve_format,
)
from juki.interfaces.common import console, emit_json, open_database
from juki.services.access import bootstrap, operators, permissions, rights_ledger, terminals
from juki.services.access.actor import TerminalKind, scope_text
from juki.store.db import DbRole

__all__ = ["admin_app", "app", "operator_app", "rights_app", "terminal_app"]

operator_app = typer.Typer(
    help="操作者の登録・登録用リンクの発行・一覧・ロック解除・無効化", no_args_is_help=True
)
terminal_app = typer.Typer(help="端末（代表端末・業務端末）の登録・一覧・再登録・廃止", no_args_is_help=True)
rights_app = typer.Typer(
    help="アクセス権限の役割・申請・棚卸しの一覧（申請・承認・取消は端末の「権限」画面で）",
    no_args_is_help=True,
)
admin_app = typer.Typer(help="初期設定（最初のシステム管理者と代表端末）", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="機械可読な JSON を標準出力へ")]
T = TypeVar("T")


@contextmanager
def _term() -> Iterator[tuple[psycopg.Connection[Any], Settings]]:
    """A juki_term connection (the terminal application's own role) and the settings; refusals → exit 1."""
    db = open_database()
    try:
        with db.connect(DbRole.TERM, autocommit=True) as conn:
            yield conn, db.settings
    except Refusal as refusal:
        console.print(f"[red]{refusal.code}[/red]: {escape(refusal.message_ja)}", soft_wrap=True)
        raise typer.Exit(1) from None


def _run(work: Callable[[psycopg.Connection[Any], Settings], T]) -> T:
    with _term() as (conn, settings):
        return work(conn, settings)


def _enrol_url(settings: Settings, token: str) -> str:
    return f"{settings.webauthn_origin}/enrol/{token}"


def _bind_url(settings: Settings, token: str) -> str:
    return f"{settings.webauthn_origin}/terminal/bind/{token}"


# --- operators -------------------------------------------------------------------------------------


@operator_app.command("add")
def operator_add(
    login: Annotated[str, typer.Argument(help="操作者ID（英小文字・数字・._-）")],
    name: Annotated[str, typer.Option("--name", help="表示名（氏名）")],
    as_json: JsonOption = False,
) -> None:
    """操作者を登録し、認証情報の登録用リンク（一回限り）を表示する。権限は `juki rights` で付与する。"""
    operator, token = _run(lambda c, s: operators.create_operator(c, s, login, name, by=None))
    settings = Settings.from_env()
    result = operator.as_dict() | {"enrolment_token": token, "enrolment_url": _enrol_url(settings, token)}
    if as_json:
        emit_json(result)
    else:
        console.print(f"操作者 {operator.login} を登録しました（番号 {operator.id}）")
        print_link(console, "登録用リンク（一回限り・本人へ安全に渡す）", _enrol_url(settings, token))


@operator_app.command("enrol-link")
def operator_enrol_link(
    login: Annotated[str, typer.Argument(help="操作者ID")],
    as_json: JsonOption = False,
) -> None:
    """新しい登録用リンクを発行する（認証器の追加・パスワード再設定）。以前の未使用リンクは無効になる。"""
    token = _run(lambda c, s: operators.issue_enrolment_token(c, s, login, by=None))
    url = _enrol_url(Settings.from_env(), token)
    if as_json:
        emit_json({"login": login, "enrolment_token": token, "enrolment_url": url})
    else:
        print_link(console, "登録用リンク（一回限り）", url)


@operator_app.command("list")
def operator_list(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """操作者の一覧（認証情報の有無、ロック状態、現在の役割）。"""

    def work(conn: psycopg.Connection[Any], _: Settings) -> list[dict[str, Any]]:
        return [
            o.as_dict() | {"roles": sorted(rights_ledger.current_roles(conn, o.id))}
            for o in operators.list_operators(conn)
        ]

    listed = _run(work)
    emit_rows(
        "操作者",
        [
            Column("login", "ID"),
            Column("display_name", "表示名"),
            Column("roles", "役割"),
            Column("password", "パスワード"),
            Column("webauthn_credentials", "生体認証"),
            Column("locked_at", "ロック"),
            Column("disabled_at", "無効化"),
        ],
        [o | {"password": "有" if o["has_password"] else ""} for o in listed],
        resolve_format(fmt, as_json),
        json_value=listed,
    )


@operator_app.command("unlock")
def operator_unlock(login: Annotated[str, typer.Argument(help="操作者ID")]) -> None:
    """認証失敗によるロックを解除する（本人確認の後で）。"""
    _run(lambda c, s: operators.unlock_operator(c, login, by=None))
    console.print(f"{login}: ロックを解除しました")


@operator_app.command("disable")
def operator_disable(login: Annotated[str, typer.Argument(help="操作者ID")]) -> None:
    """操作者を無効化する（退職・異動）。開いているセッションは直ちに終了する。権限は台帳で取り消すこと。"""
    ended = _run(lambda c, s: operators.disable_operator(c, login, by=None))
    console.print(f"{login}: 無効化しました（終了したセッション {ended} 件）")


# --- terminals -------------------------------------------------------------------------------------


@terminal_app.command("add")
def terminal_add(
    name: Annotated[str, typer.Argument(help="端末名")],
    kind: Annotated[
        TerminalKind, typer.Option("--kind", help="representative（代表端末）/ business（業務端末）")
    ],
    bulk: Annotated[bool, typer.Option("--bulk", help="一括出力（媒体出力）を許す端末")] = False,
    as_json: JsonOption = False,
) -> None:
    """端末を登録し、ブラウザを端末として登録するためのリンク（一回限り）を表示する。"""
    terminal, token = _run(
        lambda c, s: terminals.register_terminal(c, s, name, kind, bulk_enabled=bulk, by=None)
    )
    url = _bind_url(Settings.from_env(), token)
    if as_json:
        emit_json(terminal.as_dict() | {"binding_token": token, "binding_url": url})
    else:
        console.print(f"端末 {terminal.name}（{terminal.kind_label}）を登録しました（番号 {terminal.id}）")
        print_link(console, "端末登録リンク（一回限り・その端末のブラウザで開く）", url)


@terminal_app.command("rebind")
def terminal_rebind(
    name: Annotated[str, typer.Argument(help="端末名")],
    as_json: JsonOption = False,
) -> None:
    """端末登録リンクを再発行する（ブラウザの入替え）。登録すると以前のブラウザは端末でなくなる。"""
    token = _run(lambda c, s: terminals.issue_binding_token(c, s, name, by=None))
    url = _bind_url(Settings.from_env(), token)
    if as_json:
        emit_json({"name": name, "binding_token": token, "binding_url": url})
    else:
        print_link(console, "端末登録リンク（一回限り）", url)


@terminal_app.command("list")
def terminal_list(
    include_retired: Annotated[bool, typer.Option("--all", help="廃止済みも表示")] = False,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """登録済みの端末の一覧。"""
    listed = _run(lambda c, s: terminals.list_terminals(c, include_retired=include_retired))
    emit_rows(
        "端末",
        [
            Column("name", "端末名"),
            Column("kind_label", "種別"),
            Column("bulk", "一括出力"),
            Column("browser", "登録済みブラウザ"),
            Column("registered_at", "登録日時"),
            Column("retired_at", "廃止"),
        ],
        [
            t.as_dict() | {"bulk": "可" if t.bulk_enabled else "", "browser": "有" if t.bound else ""}
            for t in listed
        ],
        resolve_format(fmt, as_json),
        json_value=[t.as_dict() for t in listed],
    )


@terminal_app.command("retire")
def terminal_retire(name: Annotated[str, typer.Argument(help="端末名")]) -> None:
    """端末を廃止する。その端末のセッションは直ちに終了する。"""
    ended = _run(lambda c, s: terminals.retire(c, name, by=None))
    console.print(f"{name}: 廃止しました（終了したセッション {ended} 件）")


# --- rights ----------------------------------------------------------------------------------------


@rights_app.command("roles")
def rights_roles(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """役割と権限表（data/permissions.toml）を表示する。"""
    matrix = permissions.matrix()
    roles: list[dict[str, Any]] = [
        {
            "role": spec.name,
            "label": spec.label,
            "password_allowed": spec.password_allowed,
            "allow": sorted(f"{f.value}:{scope_text(s)}" for f, s in spec.allow),
            "description": spec.description,
        }
        for spec in matrix.roles.values()
    ]
    output = resolve_format(fmt, as_json)
    if output is OutputFormat.TABLE:
        # A four-column table squeezes "reconciliation_review:pref" into pieces at 80 columns; a
        # block per role (name line, then the permissions indented, wrapped only between
        # permissions) reads at any width.
        out = Console(highlight=False)
        out.print("[bold]役割と許可（機能:ファイル）[/bold]")
        for r in roles:
            how = "パスワード可" if r["password_allowed"] else "生体認証のみ"
            out.print(f"[bold]{escape(r['role'])}[/bold]  {escape(r['label'])}（{how}）")
            out.print(Padding(escape("  ".join(r["allow"])), (0, 0, 0, 4)))
        return
    emit_rows(
        "役割",
        [
            Column("role", "役割"),
            Column("label", "名称"),
            Column("password", "パスワード"),
            Column("allowed", "許可（機能:ファイル）"),
        ],
        [
            r
            | {"password": "可" if r["password_allowed"] else "生体認証のみ", "allowed": " ".join(r["allow"])}
            for r in roles
        ],
        output,
        json_value={
            "roles": roles,
            "bulk_terminal_functions": sorted(f.value for f in matrix.bulk_functions),
        },
    )


@rights_app.command("applications")
def rights_applications(
    include_decided: Annotated[bool, typer.Option("--all", help="決裁済みも表示")] = False,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """承認待ち（--all で全て）の申請の一覧。"""
    listed = [
        a.as_dict()
        for a in _run(lambda c, s: rights_ledger.applications(c, pending_only=not include_decided))
    ]
    emit_rows(
        "権限申請",
        [
            Column("id", "番号"),
            Column("operator_login", "操作者"),
            Column("role", "役割"),
            Column("reason", "理由"),
            Column("requested_by_login", "申請者"),
            Column("applied_at", "申請日時"),
            Column("decision", "決裁"),
            Column("decided_by_login", "決裁者"),
        ],
        listed,
        resolve_format(fmt, as_json),
    )


@rights_app.command("inventory")
def rights_inventory(fmt: FormatOption = None, as_json: JsonOption = False) -> None:
    """権限の棚卸し（S-11）: 誰がどの役割を、いつから、誰の承認で持っているか。"""
    rows = _run(lambda c, s: rights_ledger.inventory(c))
    emit_rows(
        "アクセス権限の棚卸し",
        [
            Column("grant_id", "権限番号"),
            Column("operator_login", "操作者"),
            Column("display_name", "表示名"),
            Column("role_label", "役割"),
            Column("effective_at", "有効日時"),
            Column("requested_by_login", "申請者"),
            Column("approved_by_login", "承認者"),
            Column("approved_at", "承認日時"),
            Column("note", "備考"),
        ],
        [
            r.as_dict()
            | {"note": "初期登録" if r.bootstrap else ("無効化済みの操作者" if r.operator_disabled else "")}
            for r in rows
        ],
        resolve_format(fmt, as_json),
        json_value=[r.as_dict() for r in rows],
    )


# --- bootstrap -------------------------------------------------------------------------------------


@admin_app.command("bootstrap")
def admin_bootstrap(
    login: Annotated[str, typer.Argument(help="最初のシステム管理者の操作者ID")] = "admin",
    name: Annotated[str, typer.Option("--name", help="表示名")] = "システム管理者",
    terminal: Annotated[str, typer.Option("--terminal", help="代表端末の名前")] = "代表端末",
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="既に管理者がいれば何もせず終了コード0（make run 用）")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """最初のシステム管理者（admin 役割を付与）と代表端末を作り、一回限りのリンクを表示する。"""
    db = open_database()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        try:
            boot = operators.bootstrap_first_admin(
                conn, db.settings, login, display_name=name, terminal_name=terminal, os_user=_os_user()
            )
        except Refusal as refusal:
            if if_needed and refusal.code == "T_BOOTSTRAP_DONE":
                if as_json:
                    emit_json({"bootstrapped": False})
                else:
                    console.print("管理者は登録済みです（何もしません）")
                return
            console.print(f"[red]{refusal.code}[/red]: {escape(refusal.message_ja)}", soft_wrap=True)
            raise typer.Exit(1) from None
        try:
            second: str | None = _second_admin_token(conn, db.settings)
        except Refusal:  # two administrators have existed before: approvals only (T_BOOTSTRAP_CLOSED)
            second = None
    settings = db.settings
    result = {
        "bootstrapped": True,
        "login": boot.operator.login,
        "terminal": terminal.strip(),
        "binding_token": boot.binding_token,
        "binding_url": _bind_url(settings, boot.binding_token),
        "enrolment_token": boot.enrolment_token,
        "enrolment_url": _enrol_url(settings, boot.enrolment_token),
        "second_admin_url": _second_admin_url(settings, second) if second else None,
    }
    if as_json:
        emit_json(result)
        return
    console.print(f"最初のシステム管理者 {boot.operator.login} を admin 役割で作成しました")
    print_link(console, "1. 代表端末のブラウザで開く（端末登録）", str(result["binding_url"]))
    print_link(console, "2. 続けて開く（パスワード・生体認証の登録）", str(result["enrolment_url"]))
    if second:
        print_link(
            console,
            "3. サインイン後に開く（2人目のシステム管理者を1人だけ登録、一回限り）",
            str(result["second_admin_url"]),
        )


def _os_user() -> str | None:
    """Who the operating system says runs this command, for the log (None when it cannot say)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def _second_admin_token(conn: psycopg.Connection[Any], settings: Settings) -> str:
    """The one-time second-administrator grant, logged with the OS user who runs this command."""
    return bootstrap.issue_second_admin_grant(conn, settings, os_user=_os_user())


def _second_admin_url(settings: Settings, token: str) -> str:
    return f"{settings.webauthn_origin}/admin/bootstrap/{token}"


@admin_app.command("second-admin-link")
def admin_second_admin_link(as_json: JsonOption = False) -> None:
    """2人目のシステム管理者を登録する一回限りのリンクを再発行する（管理者が2人になるまで）。"""
    token = _run(_second_admin_token)
    url = _second_admin_url(Settings.from_env(), token)
    if as_json:
        emit_json({"second_admin_url": url})
    else:
        print_link(console, "サインインした管理者が開く（2人目のシステム管理者を1人だけ登録、一回限り）", url)


#: `juki operator / terminal / rights / admin`.
app = typer.Typer()
app.add_typer(operator_app, name="operator")
app.add_typer(terminal_app, name="terminal")
app.add_typer(rights_app, name="rights")
app.add_typer(admin_app, name="admin")
