"""Access-rights pages: apply, approve / reject, revoke, inventory (REQUIREMENTS S-07..S-12).

The rules — deny by default, four eyes, revocation ending sessions, every change in the ledger and
the log — are `services.rights`; these pages only collect the input and show the outcome. A
refused change (T_RIGHTS_SELF_APPROVAL, T_RIGHTS_STATE, …) is shown on the same page with its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Ctx, Requests, TerminalWeb, logged_use, web_of
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.services.access import permissions, rights_ledger
from juki.services.access.actor import Function
from juki.services.provision.catalog import load_catalog

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]


def _rights_page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    notice: str | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    actor = ctx.signed_in
    is_admin = permissions.allows(actor, Function.RIGHTS_ADMIN, None)
    # Anybody signed in may apply for themselves (a newcomer holds no role yet); rights_apply lets
    # one apply for a colleague too.
    for_others = permissions.allows(actor, Function.RIGHTS_APPLY, None)
    with web.term() as conn:
        pending = rights_ledger.applications(conn)
        roles = role_options(conn)
    if not is_admin:
        pending = [a for a in pending if actor.login in (a.operator_login, a.requested_by_login)]
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "rights.html",
        ctx.view,
        title="アクセス権限",
        status=status,
        is_admin=is_admin,
        for_others=for_others,
        roles=roles,
        pending=pending,
        error=error,
    )


@dataclass(frozen=True)
class RoleOption:
    """A role as the application form offers it (name as granted, Japanese label)."""

    name: str
    label: str


def role_options(conn: Any) -> list[RoleOption]:
    """Every role of the matrix; a role bound to a requester once per requester of the provision
    catalog in force ("provision_operator@kyoiku"), so the grant names whom its holder acts for."""
    requesters = load_catalog(conn).requesters.values()
    options: list[RoleOption] = []
    for spec in permissions.matrix().roles.values():
        if spec.bound_to is None:
            options.append(RoleOption(spec.name, spec.label))
        else:
            options.extend(RoleOption(f"{spec.name}@{r.code}", f"{spec.label}：{r.name}") for r in requesters)
    return options


def _inventory_page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    notice: str | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    actor = ctx.signed_in
    with web.term() as conn:
        rows = logged_use(
            conn,
            actor,
            Function.RIGHTS_INVENTORY,
            event="rights_inventory",
            body=lambda: rights_ledger.inventory(conn),
        )
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "inventory.html",
        ctx.view,
        title="権限の棚卸し",
        status=status,
        rows=rows,
        is_admin=permissions.allows(actor, Function.RIGHTS_ADMIN, None),
        error=error,
    )


def _posted(request: Request, csrf_token: str) -> tuple[TerminalWeb, Ctx]:
    web = web_of(request)
    req = Requests(web)
    ctx = req.session(request)
    req.check_csrf(request, csrf_token)
    return web, ctx


def _number(value: str, label: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Refusal("T_RIGHTS_NOT_FOUND", f"{label}が正しくありません") from None


@router.get("/rights")
def rights_page(request: Request) -> Response:
    web = web_of(request)
    return _rights_page(web, Requests(web).session(request))


@router.get("/rights/inventory")
def inventory_page(request: Request) -> Response:
    web = web_of(request)
    return _inventory_page(web, Requests(web).session(request))


def _on_rights_page(web: TerminalWeb, ctx: Ctx, work: Any, done: str) -> Response:
    try:
        result = work()
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _rights_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _rights_page(web, ctx, notice=done.format(result=result))


@router.post("/rights/apply")
def rights_apply(
    request: Request,
    csrf_token: FormText = "",
    operator: FormText = "",
    role: FormText = "",
    reason: FormText = "",
) -> Response:
    web, ctx = _posted(request, csrf_token)

    def work() -> int:
        with web.term() as conn:
            return rights_ledger.apply(conn, operator.strip(), role, reason, ctx.signed_in)

    return _on_rights_page(
        web, ctx, work, "申請しました（申請番号 {result}）。管理者の承認で有効になります。"
    )


@router.post("/rights/approve")
def rights_approve(
    request: Request, csrf_token: FormText = "", application_id: FormText = "", note: FormText = ""
) -> Response:
    web, ctx = _posted(request, csrf_token)

    def work() -> int:
        number = _number(application_id, "申請番号")
        with web.term() as conn:
            return rights_ledger.approve(conn, number, ctx.signed_in, note)

    return _on_rights_page(web, ctx, work, "承認しました（権限番号 {result}）。権限は直ちに有効です。")


@router.post("/rights/reject")
def rights_reject(
    request: Request, csrf_token: FormText = "", application_id: FormText = "", reason: FormText = ""
) -> Response:
    web, ctx = _posted(request, csrf_token)

    def work() -> None:
        number = _number(application_id, "申請番号")
        with web.term() as conn:
            rights_ledger.reject(conn, number, ctx.signed_in, reason)

    return _on_rights_page(web, ctx, work, "却下しました。")


@router.post("/rights/revoke")
def rights_revoke(
    request: Request, csrf_token: FormText = "", grant_id: FormText = "", reason: FormText = ""
) -> Response:
    web, ctx = _posted(request, csrf_token)
    try:
        number = _number(grant_id, "権限番号")
        with web.term() as conn:
            ended = rights_ledger.revoke(conn, number, ctx.signed_in, reason)
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _inventory_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _inventory_page(web, ctx, notice=f"取り消しました（終了したセッション {ended} 件）。")
