"""The 外字 registry at the terminal (DOMAIN §7; issue 12 gap 3): administrators (``gaiji_admin``).

``GET /admin/gaiji`` lists every registered private-use code point with its MJ文字図形名, the glyph as
IPAmj明朝 draws it and its version, and the proposals with their decisions. ``POST /admin/gaiji/propose``
files a new entry or a change (with a reason); ``…/approve`` and ``…/reject`` decide a proposal — an
approval by another administrator than the proposer (four eyes), which is when the registry changes
and File 1's 外字変更連番 go up. The rules, the logging and the bump are the service's
(services/disclosure/gaiji_registry.py); nothing here is personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Ctx, TerminalWeb, page_session, posted_session
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.services.disclosure import gaiji_registry as registry

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

DECISION_LABELS = {None: "承認待ち", "approved": "承認", "rejected": "却下"}


def _page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    notice: str = "",
    error: ShownError | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    with web.term() as term:
        entries = registry.registry_entries(term, ctx.signed_in)
        proposals = registry.glyph_proposals(term)
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "admin_gaiji.html",
        ctx.view,
        title="外字の登録",
        status=status,
        entries=entries,
        proposals=proposals,
        error=error,
        form=form or {"code_point": "", "mj_name": "", "sequence": "", "reason": ""},
        decision_labels=DECISION_LABELS,
        sequence_label=registry.sequence_label,
        me=ctx.signed_in.login,
    )


def _decide(
    web: TerminalWeb, ctx: Ctx, work: Callable[[], str], form: dict[str, str] | None = None
) -> Response:
    try:
        notice = work()
    except Refusal as refused:
        if refused.code == "T_FORBIDDEN":
            raise
        return _page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code), form=form)
    return _page(web, ctx, notice=notice)


def _change_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Refusal("T_GAIJI_NOT_FOUND")
    return int(value)


@router.get("/admin/gaiji")
def gaiji_page(request: Request) -> Response:
    web, ctx = page_session(request)
    return _page(web, ctx)


@router.post("/admin/gaiji/propose")
def gaiji_propose(
    request: Request,
    csrf_token: FormText = "",
    code_point: FormText = "",
    mj_name: FormText = "",
    sequence: FormText = "",
    reason: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    form = {"code_point": code_point, "mj_name": mj_name, "sequence": sequence, "reason": reason}

    def work() -> str:
        cp = registry.parse_code_point(code_point)
        with web.term() as term:
            number = registry.propose_glyph(term, ctx.signed_in, cp, mj_name, sequence, reason)
        return (
            f"変更案 {number}（{registry.code_point_label(cp)}）を申請しました。"
            "別の管理者が承認すると登録されます。"
        )

    return _decide(web, ctx, work, form)


@router.post("/admin/gaiji/{change_id}/approve")
def gaiji_approve(
    request: Request, change_id: str, csrf_token: FormText = "", note: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> str:
        number = _change_id(change_id)
        with web.term() as term, web.file_connection(FileKind.PREF) as pref:
            change = registry.approve_glyph(term, pref, ctx.signed_in, number, note)
        label = registry.code_point_label(change.code_point)
        return (
            f"変更案 {number} を承認しました（{label}、版 {change.glyph_version}、"
            f"外字変更連番を更新した項目 {change.items_bumped} 件）。"
        )

    return _decide(web, ctx, work)


@router.post("/admin/gaiji/{change_id}/reject")
def gaiji_reject(
    request: Request, change_id: str, csrf_token: FormText = "", note: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)

    def work() -> str:
        number = _change_id(change_id)
        with web.term() as term:
            registry.reject_glyph(term, ctx.signed_in, number, note)
        return f"変更案 {number} を却下しました。"

    return _decide(web, ctx, work)
