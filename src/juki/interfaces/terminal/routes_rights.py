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
from juki.services.access import permissions, rights_ledger, role_conflicts
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
    rules = conflict_policy(web)
    with web.term() as conn:
        pending = rights_ledger.applications(conn)
        roles = role_options(conn)
        if not is_admin:
            pending = [a for a in pending if actor.login in (a.operator_login, a.requested_by_login)]
        # Separation of duties, shown to whoever decides (the service checks again at approval).
        conflicts = {a.id: rights_ledger.conflicts_of(conn, a.operator_id, a.role, rules) for a in pending}
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
        conflicts=conflicts,
        conflict_mode=rules.mode,
        error=error,
    )


def conflict_policy(web: TerminalWeb) -> role_conflicts.ConflictPolicy:
    """The shipped role-conflict pairs under this installation's mode (JUKI_ROLE_CONFLICT_MODE)."""
    return role_conflicts.policy().with_mode(web.settings.role_conflict_mode)


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


def _number(value: str, label: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Refusal("T_RIGHTS_NOT_FOUND", f"{label}が正しくありません") from None


@router.get("/rights")
def rights_page(request: Request) -> Response:
    return _rights_page(*page_session(request))


@router.get("/rights/inventory")
def inventory_page(request: Request) -> Response:
    return _inventory_page(*page_session(request))


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
    web, ctx = posted_session(request, csrf_token)

    rules = conflict_policy(web)

    def work() -> str:
        with web.term() as conn:
            number = rights_ledger.apply(conn, operator.strip(), role, reason, ctx.signed_in, conflicts=rules)
            applied = next(a for a in rights_ledger.applications(conn) if a.id == number)
            clash = rights_ledger.conflicts_of(conn, applied.operator_id, role, rules, include_pending=True)
        done = f"申請しました（申請番号 {number}）。管理者の承認で有効になります。"
        return done + _conflict_warning(role, clash)

    return _on_rights_page(web, ctx, work, "{result}")


def _conflict_warning(role: str, clash: list[str]) -> str:
    if not clash:
        return ""
    roles = permissions.matrix().roles
    others = "・".join(roles[r].label if r in roles else r for r in clash)
    label = roles[role].label if role in roles else role
    return f" 注意（職務の分離）: 「{label}」は「{others}」と同時に持つことが望ましくない役割です。"


@router.post("/rights/approve")
def rights_approve(
    request: Request, csrf_token: FormText = "", application_id: FormText = "", note: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    rules = conflict_policy(web)

    def work() -> str:
        number = _number(application_id, "申請番号")
        with web.term() as conn:
            grant = rights_ledger.approve(conn, number, ctx.signed_in, note, conflicts=rules)
            row = next((r for r in rights_ledger.inventory(conn) if r.grant_id == grant), None)
            clash = rights_ledger.conflicts_of(conn, row.operator_id, row.role, rules) if row else []
        done = f"承認しました（権限番号 {grant}）。権限は直ちに有効です。"
        return done + (_conflict_warning(row.role, clash) if row else "")

    return _on_rights_page(web, ctx, work, "{result}")


@router.post("/rights/reject")
def rights_reject(
    request: Request, csrf_token: FormText = "", application_id: FormText = "", reason: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> None:
        number = _number(application_id, "申請番号")
        with web.term() as conn:
            rights_ledger.reject(conn, number, ctx.signed_in, reason)

    return _on_rights_page(web, ctx, work, "却下しました。")


@router.post("/rights/revoke")
def rights_revoke(
    request: Request,
    csrf_token: FormText = "",
    grant_id: FormText = "",
    reason: FormText = "",
    confirmed: FormText = "",
) -> Response:
    """Revocation in two steps: the inventory's 取消 shows what will happen (the operator's sessions
    end, they are told the reason) and only the confirmation's button (``confirmed=yes``) revokes."""
    web, ctx = posted_session(request, csrf_token)
    if confirmed != "yes":
        return _revoke_confirmation(web, ctx, grant_id, reason)
    try:
        number = _number(grant_id, "権限番号")
        with web.term() as conn:
            ended = rights_ledger.revoke(conn, number, ctx.signed_in, reason)
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _inventory_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return _inventory_page(web, ctx, notice=f"取り消しました（終了したセッション {ended} 件）。")


def _revoke_confirmation(web: TerminalWeb, ctx: Ctx, grant_id: str, reason: str) -> Response:
    """The confirmation page of a revocation (nothing changes yet; the inventory read is logged)."""
    require_logged(web, ctx.signed_in, Function.RIGHTS_ADMIN, event="rights_revoke_confirm")
    try:
        number = _number(grant_id, "権限番号")
        if not reason.strip():
            raise Refusal("T_REASON_REQUIRED")
        with web.term() as conn:
            rows = logged_use(
                conn,
                ctx.signed_in,
                Function.RIGHTS_INVENTORY,
                event="rights_revoke_confirm",
                body=lambda: rights_ledger.inventory(conn),
                detail={"grant": number},
            )
        row = next((r for r in rows if r.grant_id == number), None)
        if row is None:
            raise Refusal("T_RIGHTS_NOT_FOUND", f"権限番号 {number}")
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _inventory_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    return web.renderer.page(
        "rights_revoke_confirm.html", ctx.view, title="権限の取消の確認", row=row, reason=reason.strip()
    )
