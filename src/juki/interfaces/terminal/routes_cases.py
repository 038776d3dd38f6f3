"""The counter's pages for correction cases (F1-4, F2-4) and the inquiry log (REC-7, S-60).

Corrections: register the 申出 against an issued disclosure, put the inquiry to the 市町村CS, and
print the signed answer letter once the municipality answered; open cases past their deadline are
marked. Inquiries: record one, and search them for the yearly review. Everything personal is POSTed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from juki.domain.items import item_label
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import (
    CASE_STATUS_LABELS,
    CORRECTION_KIND_LABELS,
    INQUIRY_CATEGORY_LABELS,
    INQUIRY_CHANNEL_LABELS,
    CorrectionKind,
    InquiryCategory,
    InquiryChannel,
)
from juki.files import all_files, file_spec
from juki.interfaces.disclosure_forms import correction_letter_form
from juki.interfaces.forms import render_form, sign_pdf
from juki.interfaces.terminal.context import (
    Ctx,
    TerminalWeb,
    file_of,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.interfaces.terminal.routes_disclosure import signer_of
from juki.services.access import permissions
from juki.services.access.actor import Function
from juki.services.disclosure import corrections, inquiries
from juki.services.disclosure.gaiji_registry import glyph_map

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]


def _files(ctx: Ctx) -> list[FileKind]:
    return [
        s.kind for s in all_files() if permissions.allows(ctx.signed_in, Function.CORRECTION_REQUEST, s.kind)
    ]


def _cases_page(
    web: TerminalWeb, ctx: Ctx, form: dict[str, Any], *, error: ShownError | None = None, status: int = 200
) -> Response:
    today = date.today()
    lists = {}
    for file in _files(ctx):
        with web.file_connection(file) as conn:
            lists[file.value] = corrections.list_cases(conn, ctx.signed_in, file)
    return web.renderer.page(
        "corrections.html",
        ctx.view,
        title="訂正等の申出",
        status=status,
        form=form,
        error=error,
        lists=lists,
        today=today,
        files=[(s.kind.value, s.title) for s in all_files() if s.kind in _files(ctx)],
        kinds=[(k.value, v) for k, v in CORRECTION_KIND_LABELS.items()],
        items=[
            (c, item_label(c))
            for c in dict.fromkeys(i for s in all_files() for i in s.provided_items)
            if c not in ("juminhyo_code", "my_number")
        ],
        status_labels={k.value: v for k, v in CASE_STATUS_LABELS.items()},
        kind_labels={k.value: v for k, v in CORRECTION_KIND_LABELS.items()},
    )


_EMPTY_CASE: dict[str, Any] = {
    "file": "pref",
    "request_no": "",
    "kind": "correction",
    "item": "name_kanji",
    "claim": "",
    "requested": "",
}


@router.get("/corrections")
def corrections_home(request: Request) -> Response:
    web, ctx = page_session(request)
    if not _files(ctx):
        require_logged(
            web, ctx.signed_in, Function.CORRECTION_REQUEST, FileKind.PREF, event="correction_form"
        )
    return _cases_page(web, ctx, dict(_EMPTY_CASE))


@router.post("/corrections")
def corrections_register(
    request: Request,
    csrf_token: FormText = "",
    file: FormText = "pref",
    request_no: FormText = "",
    kind: FormText = "correction",
    item: FormText = "",
    claim: FormText = "",
    requested: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    form = {
        "file": file,
        "request_no": request_no,
        "kind": kind,
        "item": item,
        "claim": claim,
        "requested": requested,
    }
    scope = file_of(file, refusal="T_CORRECTION_INPUT")
    try:
        try:
            given = corrections.CaseInput(
                request_no,
                CorrectionKind(kind),
                [item],
                claim,
                {item: requested} if requested.strip() else {},
            )
        except ValueError:
            raise Refusal("T_CORRECTION_INPUT", "申出の種類を選んでください") from None
        with web.file_connection(scope) as conn:
            corrections.register_case(conn, ctx.signed_in, scope, given)
    except Refusal as refused:
        if refused.code != "T_CORRECTION_INPUT":
            raise
        return _cases_page(web, ctx, form, error=ShownError.of(refused), status=status_of(refused.code))
    return RedirectResponse("/corrections", status_code=303)


def _case_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Refusal("T_CORRECTION_NOT_FOUND")
    return int(value)


@router.post("/corrections/{file_name}/{case_id}/inquiry")
def corrections_inquiry(
    request: Request, file_name: str, case_id: str, csrf_token: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_CORRECTION_NOT_FOUND")
    with web.file_connection(file) as conn:
        corrections.send_inquiry(conn, ctx.signed_in, file, _case_id(case_id))
    return RedirectResponse("/corrections", status_code=303)


@router.post("/corrections/{file_name}/{case_id}/letter")
def corrections_letter(request: Request, file_name: str, case_id: str, csrf_token: FormText = "") -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_CORRECTION_NOT_FOUND")
    offices = web.settings.offices()  # before the case is closed: E_OFFICES_NOT_CONFIGURED leaves it open
    with web.term() as term:
        glyphs = glyph_map(term)
    today = date.today()
    with web.file_connection(file) as conn:
        case, name, _ = corrections.close_case(conn, ctx.signed_in, file, _case_id(case_id), issued_on=today)
    letter = correction_letter_form(case, file_spec(file), name, today, glyphs, offices=offices)
    pdf = sign_pdf(render_form(letter), signer_of(web), reason=offices.signature_reason)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="correction-{file.value}-{case.case_no}.pdf"'},
    )


# ------------------------------------------------------------------------------------ inquiry log


def _inquiries_page(
    web: TerminalWeb,
    ctx: Ctx,
    *,
    filters: dict[str, str],
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    category = filters.get("category") or None
    since = filters.get("since") or None
    until = filters.get("until") or None
    try:
        with web.term() as conn:
            entries = inquiries.search_inquiries(
                conn,
                ctx.signed_in,
                since=date.fromisoformat(since) if since else None,
                until=date.fromisoformat(until) if until else None,
                category=InquiryCategory(category) if category else None,
                text=filters.get("text", ""),
                limit=200,
            )
    except ValueError:
        raise Refusal("T_INQUIRY_INPUT", "期間と分類の指定が正しくありません") from None
    return web.renderer.page(
        "inquiries.html",
        ctx.view,
        title="問合せ記録",
        status=status,
        error=error,
        entries=entries,
        filters=filters,
        channels=[(k.value, v) for k, v in INQUIRY_CHANNEL_LABELS.items()],
        categories=[(k.value, v) for k, v in INQUIRY_CATEGORY_LABELS.items()],
        channel_labels={k.value: v for k, v in INQUIRY_CHANNEL_LABELS.items()},
        category_labels={k.value: v for k, v in INQUIRY_CATEGORY_LABELS.items()},
    )


@router.get("/inquiries")
def inquiries_home(request: Request) -> Response:
    web, ctx = page_session(request)
    require_logged(web, ctx.signed_in, Function.INQUIRY_LOG, None, event="inquiry_form")
    return _inquiries_page(web, ctx, filters={})


@router.post("/inquiries")
def inquiries_record(
    request: Request,
    csrf_token: FormText = "",
    channel: FormText = "counter",
    category: FormText = "other",
    summary: FormText = "",
    answer: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    try:
        try:
            given = inquiries.InquiryInput(
                InquiryChannel(channel), InquiryCategory(category), summary, answer
            )
        except ValueError:
            raise Refusal("T_INQUIRY_INPUT", "受付の方法と分類を選んでください") from None
        with web.term() as conn:
            inquiries.record_inquiry(conn, ctx.signed_in, given)
    except Refusal as refused:
        if refused.code != "T_INQUIRY_INPUT":
            raise
        return _inquiries_page(
            web, ctx, filters={}, error=ShownError.of(refused), status=status_of(refused.code)
        )
    return RedirectResponse("/inquiries", status_code=303)


@router.post("/inquiries/search")
def inquiries_search(
    request: Request,
    csrf_token: FormText = "",
    since: FormText = "",
    until: FormText = "",
    category: FormText = "",
    text: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    return _inquiries_page(
        web, ctx, filters={"since": since, "until": until, "category": category, "text": text}
    )
