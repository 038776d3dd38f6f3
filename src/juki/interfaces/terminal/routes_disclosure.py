"""The counter's pages (窓口): disclosure requests (F1-3, F2-3), the provision-status disclosure
(S-55) and their signed PDF forms.

Flow: the counter registers the written request (``POST /disclosure``), matches it
(``…/match``: one person or 不開示 with its reason, never a list) and issues the form
(``…/issue``: a signed PDF download). A request that ends 不開示 — no match, several candidates, or
the counter's own decision (``…/refuse``) — gets the signed 不開示決定通知書 (``…/refusal-letter``),
built from the request alone. What the requester gave travels only in POST bodies; the URLs
carry the register's own numbers. Rights, the register and the operation log are the services' work
(services/disclosure); this module builds the forms (interfaces/disclosure_forms.py) and signs them
with the prefecture's document-signing key (interfaces/forms).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from juki.domain.records import FileKind
from juki.domain.refusals import REFUSALS, Refusal
from juki.domain.rights import (
    CHANNEL_LABELS,
    COUNTER_REFUSALS,
    IDENTITY_DOCUMENTS,
    REQUEST_KIND_LABELS,
    REQUEST_STATUS_LABELS,
    REQUESTER_LABELS,
    Channel,
    RequesterKind,
    RequestKind,
)
from juki.files import all_files, file_spec
from juki.interfaces.disclosure_forms import disclosure_form, provision_status_form, refusal_letter_form
from juki.interfaces.forms import document_signer, render_form, sign_pdf
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
from juki.services.access import permissions
from juki.services.access.actor import Function
from juki.services.access.pki import Pki
from juki.services.disclosure import requests as register
from juki.services.disclosure.gaiji_registry import glyph_map
from juki.services.disclosure.issue import issue_disclosure, issue_provision_status
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.provision_source import provision_lines
from juki.services.disclosure.refusal import issue_refusal_letter, refuse_request
from juki.services.disclosure.staff_views import staff_views_from_log

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]
_FORM_REFUSALS = frozenset({"T_DISCLOSURE_INPUT", "T_PROVISION_STATUS_FILE"})

#: Steps of a request's history that are not statuses (the events table shows them in Japanese).
_EVENT_LABELS: dict[str, str] = {
    "reprinted": "再印刷",
    "letter_issued": "不開示決定通知書を発行",
    "letter_reprinted": "不開示決定通知書を再印刷",
}

_EMPTY: dict[str, Any] = {
    "files": ["pref"],
    "kind": RequestKind.DISCLOSURE.value,
    "received_on": "",
    "office": "",  # the prefecture's disclosure counter (Offices.disclosure_office) when blank
    "channel": Channel.COUNTER.value,
    "requester_kind": RequesterKind.SELF.value,
    "identity_document": IDENTITY_DOCUMENTS[0],
    "name": "",
    "birth_date": "",
    "sex": "",
    "address": "",
    "juminhyo_code": "",
}


def _files_allowed(ctx: Ctx) -> list[FileKind]:
    return [s.kind for s in all_files() if permissions.allows(ctx.signed_in, Function.DISCLOSURE, s.kind)]


def _page(
    web: TerminalWeb,
    ctx: Ctx,
    form: dict[str, Any],
    *,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    offices = web.settings.offices()  # the counter cannot register a request without its offices
    form = {**form, "office": form["office"] or offices.disclosure_office}
    lists = {}
    for file in _files_allowed(ctx):
        with web.file_connection(file) as conn:
            lists[file.value] = register.list_requests(conn, ctx.signed_in, file)
    return web.renderer.page(
        "disclosure.html",
        ctx.view,
        title="開示請求（窓口）",
        status=status,
        form=form,
        error=error,
        lists=lists,
        files=[(s.kind.value, s.title) for s in all_files() if s.kind in _files_allowed(ctx)],
        kinds=[(k.value, label) for k, label in REQUEST_KIND_LABELS.items()],
        offices=offices.lodging_offices,
        channels=[(k.value, label) for k, label in CHANNEL_LABELS.items()],
        requesters=[(k.value, label) for k, label in REQUESTER_LABELS.items()],
        documents=IDENTITY_DOCUMENTS,
        status_labels={k.value: v for k, v in REQUEST_STATUS_LABELS.items()},
        kind_labels={k.value: v for k, v in REQUEST_KIND_LABELS.items()},
    )


@router.get("/disclosure")
def disclosure_home(request: Request) -> Response:
    web, ctx = page_session(request)
    if not _files_allowed(ctx):
        require_logged(web, ctx.signed_in, Function.DISCLOSURE, FileKind.PREF, event="disclosure_form")
    return _page(web, ctx, dict(_EMPTY))


@router.post("/disclosure")
def disclosure_register(
    request: Request,
    csrf_token: FormText = "",
    kind: FormText = RequestKind.DISCLOSURE.value,
    received_on: FormText = "",
    office: FormText = "",
    channel: FormText = Channel.COUNTER.value,
    requester_kind: FormText = RequesterKind.SELF.value,
    identity_document: FormText = "",
    name: FormText = "",
    birth_date: FormText = "",
    sex: FormText = "",
    address: FormText = "",
    juminhyo_code: FormText = "",
    file_pref: FormText = "",
    file_fuhyo: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    chosen = [f for f, on in ((FileKind.PREF, file_pref), (FileKind.FUHYO, file_fuhyo)) if on]
    form = {
        **_EMPTY,
        "files": [f.value for f in chosen],
        "kind": kind,
        "received_on": received_on,
        "office": office,
        "channel": channel,
        "requester_kind": requester_kind,
        "identity_document": identity_document,
        "name": name,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
        "juminhyo_code": juminhyo_code,
    }
    try:
        if not chosen:
            raise Refusal("T_DISCLOSURE_INPUT", "対象（本人確認情報／附票本人確認情報）を選んでください")
        try:
            day = date.fromisoformat(received_on) if received_on.strip() else None
            given = register.RequestInput(
                kind=RequestKind(kind),
                received_on=day,
                office=office,
                channel=Channel(channel),
                requester_kind=RequesterKind(requester_kind),
                identity_document=identity_document,
                name=name,
                birth_date=birth_date,
                sex=sex,
                address=address,
                juminhyo_code=juminhyo_code,
            )
        except ValueError:
            raise Refusal("T_DISCLOSURE_INPUT", "請求日・種類・方法の値が正しくありません") from None
        first: register.DisclosureRequest | None = None
        for file in chosen:
            with web.file_connection(file) as conn:
                made = register.register_request(
                    conn,
                    ctx.signed_in,
                    file,
                    given,
                    offices=web.settings.offices(),
                    same_request_no=first.request_no if first else None,
                )
            first = first or made
    except Refusal as refused:
        if refused.code not in _FORM_REFUSALS:
            raise
        return _page(web, ctx, form, error=ShownError.of(refused), status=status_of(refused.code))
    assert first is not None
    return RedirectResponse(f"/disclosure/{first.file.value}/{first.id}", status_code=303)


def _request_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Refusal("T_DISCLOSURE_NOT_FOUND")
    return int(value)


@router.get("/disclosure/{file_name}/{request_id}")
def disclosure_request(request: Request, file_name: str, request_id: str) -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name, refusal="T_DISCLOSURE_NOT_FOUND")
    with web.file_connection(file) as conn:
        shown = register.get_request(conn, ctx.signed_in, file, _request_id(request_id))
    return web.renderer.page(
        "disclosure_request.html",
        ctx.view,
        title="開示請求",
        req=shown,
        file_title=file_spec(file).title,
        status_labels={k.value: v for k, v in REQUEST_STATUS_LABELS.items()} | _EVENT_LABELS,
        counter_refusals=[(code, REFUSALS[code].message_ja) for code in COUNTER_REFUSALS],
        kind_labels={k.value: v for k, v in REQUEST_KIND_LABELS.items()},
        channel_labels={k.value: v for k, v in CHANNEL_LABELS.items()},
        requester_labels={k.value: v for k, v in REQUESTER_LABELS.items()},
    )


@router.post("/disclosure/{file_name}/{request_id}/match")
def disclosure_match(
    request: Request, file_name: str, request_id: str, csrf_token: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_DISCLOSURE_NOT_FOUND")
    with web.file_connection(file) as conn:
        match_request(conn, ctx.signed_in, file, _request_id(request_id))
    return RedirectResponse(f"/disclosure/{file.value}/{int(request_id)}", status_code=303)


def signer_of(web: TerminalWeb) -> Any:
    """The prefecture's document signer from the PKI the servers use (JUKI_PKI_DIR)."""
    return document_signer(Pki(web.settings.pki_directory, prefecture=web.settings.prefecture))


@router.post("/disclosure/{file_name}/{request_id}/issue")
def disclosure_issue(
    request: Request, file_name: str, request_id: str, csrf_token: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_DISCLOSURE_NOT_FOUND")
    number = _request_id(request_id)
    # Before anything is issued or numbered: a prefecture without offices gets E_OFFICES_NOT_CONFIGURED.
    offices = web.settings.offices()
    with web.term() as term, web.file_connection(file) as conn:
        glyphs = glyph_map(term)
        kind = register.get_request(conn, ctx.signed_in, file, number).kind
        if kind is RequestKind.PROVISION_STATUS:
            # S-55's option: the staff's views from the operation log, only when the prefecture turned it on
            views = (
                staff_views_from_log(term, file, offices.staff_department)
                if web.settings.disclose_staff_views
                else None
            )
            statement = issue_provision_status(
                conn, ctx.signed_in, file, number, provision_lines, staff_views=views
            )
            form = provision_status_form(statement, glyphs, offices=offices)
            request_no = statement.request.request_no
        else:
            record = issue_disclosure(conn, ctx.signed_in, file, number)
            form = disclosure_form(record, glyphs, offices=offices)
            request_no = record.request.request_no
    pdf = sign_pdf(render_form(form), signer_of(web), reason=offices.signature_reason)
    filename = f"{kind.value}-{file.value}-{request_no}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/disclosure/{file_name}/{request_id}/refuse")
def disclosure_refuse(
    request: Request, file_name: str, request_id: str, csrf_token: FormText = "", reason: FormText = ""
) -> Response:
    """The counter's own 不開示 (identity or representation not shown, LEGAL.md §3)."""
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_DISCLOSURE_NOT_FOUND")
    number = _request_id(request_id)
    with web.file_connection(file) as conn:
        refuse_request(conn, ctx.signed_in, file, number, reason)
    return RedirectResponse(f"/disclosure/{file.value}/{number}", status_code=303)


@router.post("/disclosure/{file_name}/{request_id}/refusal-letter")
def disclosure_refusal_letter(
    request: Request, file_name: str, request_id: str, csrf_token: FormText = ""
) -> Response:
    """The signed 不開示決定通知書 of a refused request (a download, numbered on first print)."""
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_DISCLOSURE_NOT_FOUND")
    number = _request_id(request_id)
    offices = web.settings.offices()  # before the letter is numbered
    with web.term() as term, web.file_connection(file) as conn:
        glyphs = glyph_map(term)
        decision = issue_refusal_letter(conn, ctx.signed_in, file, number)
    letter = refusal_letter_form(decision, glyphs, offices=offices)
    pdf = sign_pdf(render_form(letter), signer_of(web), reason=offices.signature_reason)
    filename = f"refusal-{file.value}-{decision.request.request_no}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
