"""Administration on screen (issue 10 item 10; REQUIREMENTS S-07..S-12): operators, terminals, the
second administrator of the first setup, and one's own password.

What the console could do (`juki operator|terminal …`) an administrator now does here, signed in
and rights-checked: every page view and every change is one operation-log row written by the
services (`operators`, `terminals`, `bootstrap`), a refusal is shown on the same page with its code.
The pages only collect input and show results. One-time links (enrolment, terminal binding) are
shown once, on the page answering the POST that issued them — never in a URL of ours.

Destructive acts (disabling an operator, retiring a terminal) ask for confirmation first: the
first POST shows what will happen, only the confirmation's POST (``confirmed=yes``) acts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import (
    Ctx,
    TerminalWeb,
    logged_use,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.services.access import bootstrap, operators, passwords, rights_ledger, terminals
from juki.services.access.actor import Function, TerminalKind

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]


def _link(web: TerminalWeb, path: str) -> str:
    return f"{web.settings.webauthn_origin}{path}"


# --- operators ---------------------------------------------------------------------------------------


def _operators_page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    notice: str | None = None,
    link: tuple[str, str] | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    with web.term() as conn:

        def listing() -> list[tuple[operators.Operator, list[str]]]:
            return [
                (o, sorted(rights_ledger.current_roles(conn, o.id))) for o in operators.list_operators(conn)
            ]

        rows = logged_use(conn, ctx.signed_in, Function.OPERATOR_ADMIN, event="operator_list", body=listing)
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "admin_operators.html",
        ctx.view,
        title="操作者の管理",
        status=status,
        rows=rows,
        link=link,
        error=error,
    )


def _on_operators(
    web: TerminalWeb, ctx: Ctx, work: Callable[[], tuple[str, tuple[str, str] | None]]
) -> Response:
    try:
        notice, link = work()
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _operators_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _operators_page(web, ctx, notice=notice, link=link)


@router.get("/admin/operators")
def operators_page(request: Request) -> Response:
    web, ctx = page_session(request)
    return _operators_page(web, ctx)


@router.post("/admin/operators/add")
def operator_add(
    request: Request, csrf_token: FormText = "", login: FormText = "", display_name: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            created, token = operators.create_operator(
                conn, web.settings, login, display_name, by=ctx.signed_in
            )
        return (
            f"操作者 {created.login} を登録しました。権限は「権限の申請・承認」で申請・承認してください。",
            (created.login, _link(web, f"/enrol/{token}")),
        )

    return _on_operators(web, ctx, work)


@router.post("/admin/operators/enrol-link")
def operator_enrol_link(request: Request, csrf_token: FormText = "", login: FormText = "") -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            token = operators.issue_enrolment_token(conn, web.settings, login, by=ctx.signed_in)
        return (
            f"{login} の新しい登録用リンクを発行しました（以前の未使用のリンクは無効です）。",
            (login, _link(web, f"/enrol/{token}")),
        )

    return _on_operators(web, ctx, work)


@router.post("/admin/operators/unlock")
def operator_unlock(request: Request, csrf_token: FormText = "", login: FormText = "") -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            found = operators.unlock_operator(conn, login, by=ctx.signed_in)
        return f"{found.login} のロックを解除しました。", None

    return _on_operators(web, ctx, work)


@router.post("/admin/operators/disable")
def operator_disable(
    request: Request, csrf_token: FormText = "", login: FormText = "", confirmed: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    if confirmed != "yes":
        require_logged(web, ctx.signed_in, Function.OPERATOR_ADMIN, event="operator_disable")
        return web.renderer.page(
            "admin_confirm.html",
            ctx.view,
            title="操作者の無効化の確認",
            action="/admin/operators/disable",
            back="/admin/operators",
            fields={"login": login},
            what=f"操作者 {login} を無効化します。",
            consequence="この操作者はサインインできなくなり、開いているセッションは直ちに終了し、"
            "未使用の登録用リンクは無効になります。権限は台帳に残るため、棚卸しで取り消してください。",
            button="無効化する",
        )

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            ended = operators.disable_operator(conn, login, by=ctx.signed_in)
        return f"{login} を無効化しました（終了したセッション {ended} 件）。", None

    return _on_operators(web, ctx, work)


# --- terminals -----------------------------------------------------------------------------------------


def _terminals_page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    notice: str | None = None,
    link: tuple[str, str] | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    with web.term() as conn:
        rows = logged_use(
            conn,
            ctx.signed_in,
            Function.TERMINAL_ADMIN,
            event="terminal_list",
            body=lambda: terminals.list_terminals(conn, include_retired=True),
        )
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "admin_terminals.html",
        ctx.view,
        title="端末の管理",
        status=status,
        rows=rows,
        link=link,
        error=error,
        kinds=[
            (k.value, "代表端末" if k is TerminalKind.REPRESENTATIVE else "業務端末") for k in TerminalKind
        ],
    )


def _on_terminals(
    web: TerminalWeb, ctx: Ctx, work: Callable[[], tuple[str, tuple[str, str] | None]]
) -> Response:
    try:
        notice, link = work()
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _terminals_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _terminals_page(web, ctx, notice=notice, link=link)


@router.get("/admin/terminals")
def terminals_page(request: Request) -> Response:
    web, ctx = page_session(request)
    return _terminals_page(web, ctx)


def _kind(value: str) -> TerminalKind:
    try:
        return TerminalKind(value)
    except ValueError:
        raise Refusal("T_NAME_INVALID", "端末の種別を選んでください") from None


@router.post("/admin/terminals/add")
def terminal_add(
    request: Request, csrf_token: FormText = "", name: FormText = "", kind: FormText = "", bulk: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            terminal, token = terminals.register_terminal(
                conn, web.settings, name, _kind(kind), bulk_enabled=bulk == "yes", by=ctx.signed_in
            )
        return (
            f"端末 {terminal.name}（{terminal.kind_label}）を登録しました。"
            "その端末のブラウザで次のリンクを開いてください。",
            (terminal.name, _link(web, f"/terminal/bind/{token}")),
        )

    return _on_terminals(web, ctx, work)


@router.post("/admin/terminals/bind-link")
def terminal_bind_link(request: Request, csrf_token: FormText = "", name: FormText = "") -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            token = terminals.issue_binding_token(conn, web.settings, name, by=ctx.signed_in)
        return (
            f"{name} の端末登録リンクを発行しました。登録すると以前のブラウザはこの端末でなくなります。",
            (name, _link(web, f"/terminal/bind/{token}")),
        )

    return _on_terminals(web, ctx, work)


@router.post("/admin/terminals/bulk")
def terminal_bulk(
    request: Request, csrf_token: FormText = "", name: FormText = "", enabled: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            terminal = terminals.set_bulk_enabled(conn, name, enabled == "yes", by=ctx.signed_in)
        state = "許可しました" if terminal.bulk_enabled else "停止しました"
        return f"{terminal.name} の一括出力を{state}。", None

    return _on_terminals(web, ctx, work)


@router.post("/admin/terminals/retire")
def terminal_retire(
    request: Request, csrf_token: FormText = "", name: FormText = "", confirmed: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    if confirmed != "yes":
        require_logged(web, ctx.signed_in, Function.TERMINAL_ADMIN, event="terminal_retire")
        return web.renderer.page(
            "admin_confirm.html",
            ctx.view,
            title="端末の廃止の確認",
            action="/admin/terminals/retire",
            back="/admin/terminals",
            fields={"name": name},
            what=f"端末 {name} を廃止します。",
            consequence="この端末のブラウザは端末として使えなくなり、この端末のセッションは直ちに終了します。元に戻せません。",
            button="廃止する",
        )

    def work() -> tuple[str, tuple[str, str] | None]:
        with web.term() as conn:
            ended = terminals.retire(conn, name, by=ctx.signed_in)
        return f"{name} を廃止しました（終了したセッション {ended} 件）。", None

    return _on_terminals(web, ctx, work)


# --- the second administrator of the first setup ------------------------------------------------------


def _bootstrap_page(
    web: TerminalWeb,
    ctx: Ctx,
    token: str,
    *,
    error: ShownError | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    return web.renderer.page(
        "admin_bootstrap.html",
        ctx.view,
        title="2人目のシステム管理者の登録",
        status=status,
        token=token,
        error=error,
        **extra,
    )


@router.get("/admin/bootstrap/{token}")
def bootstrap_page(request: Request, token: str) -> Response:
    """The link `juki admin bootstrap` printed: a signed-in administrator registers the second one."""
    web, ctx = page_session(request)
    require_logged(web, ctx.signed_in, Function.RIGHTS_ADMIN, event="rights_bootstrap_second_admin")
    with web.term() as conn:
        bootstrap.check_second_admin_grant(conn, token)
    return _bootstrap_page(web, ctx, token)


@router.post("/admin/bootstrap/{token}")
def bootstrap_post(
    request: Request, token: str, csrf_token: FormText = "", login: FormText = "", display_name: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    try:
        with web.term() as conn:
            second = bootstrap.redeem_second_admin_grant(
                conn, web.settings, token, ctx.signed_in, login, display_name
            )
    except Refusal as refused:
        if refused.code in ("T_FORBIDDEN", "T_ENROLMENT_INVALID", "T_BOOTSTRAP_CLOSED"):
            raise
        return _bootstrap_page(web, ctx, token, error=ShownError.of(refused), status=status_of(refused.code))
    ctx.view.notices.append(
        f"{second.operator.login} をシステム管理者として登録しました"
        f"（権限番号 {second.grant_id}、初期設定の一回限りの付与）。"
        "以後、権限は申請と、申請者・対象者以外の管理者の承認で付与されます。"
    )
    return _bootstrap_page(
        web,
        ctx,
        token,
        done=True,
        link=(second.operator.login, _link(web, f"/enrol/{second.enrolment_token}")),
    )


# --- own password -----------------------------------------------------------------------------------------


def _password_page(
    web: TerminalWeb, ctx: Ctx, *, error: ShownError | None = None, status: int = 200, done: bool = False
) -> Response:
    if done:
        ctx.view.notices.append("パスワードを変更しました。")
    return web.renderer.page(
        "account_password.html",
        ctx.view,
        title="パスワードの変更",
        status=status,
        error=error,
        min_length=passwords.MIN_LENGTH,
    )


@router.get("/account/password")
def password_page(request: Request) -> Response:
    web, ctx = page_session(request)
    return _password_page(web, ctx)


@router.post("/account/password")
def password_post(
    request: Request,
    csrf_token: FormText = "",
    current_password: FormText = "",
    new_password: FormText = "",
    new_password_again: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    if new_password != new_password_again:
        error = ShownError("T_PASSWORD_MISMATCH", "確認のために入力したパスワードが一致しません")
        return _password_page(web, ctx, error=error, status=422)
    try:
        with web.term() as conn:
            operators.change_password(conn, web.settings, ctx.signed_in, current_password, new_password)
    except Refusal as refused:
        if refused.code in ("T_AUTH_LOCKED", "T_SESSION_ENDED"):
            raise
        return _password_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _password_page(web, ctx, done=True)
