"""Single provision and transfer at the terminal (F1-2: 本人確認情報, F2-2: 附票本人確認情報).

The operator of a requesting organ or department (a grant ``provision_operator@<requester>``) first
picks one of *their* requesters' tasks (``GET /provision/{file}?task=<requester>:<task>``: no personal
data in the URL, only catalog codes), then the page offers exactly the keys and methods the task
allows on the file and one form per key (住民票コード / 個人番号 / 4情報 with the shared
``_basic4_fields.html``). The POSTed answer is `services.provision.single.provide`'s: the result code
with its message, and on 一致 the task's items only — on screen, as an A4 PDF for paper (File 1; the
one PDF module `juki.interfaces.forms`), or as a CSV file for media (`services.provision.output`).
Rights, the operation-log row and the provision record are the service's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from juki.domain.offices import EXAMPLE_MARKER, Offices
from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.interfaces.forms import Form as PrintedForm
from juki.interfaces.forms import KeyValueTable, render_form
from juki.interfaces.terminal.context import (
    Ctx,
    TerminalWeb,
    file_of,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.labels import item_value
from juki.interfaces.terminal.routes_jlis import NAME_MATCHES, NAME_PARTS
from juki.services.access import permissions
from juki.services.access.actor import Function
from juki.services.jlis import operator_query
from juki.services.provision.catalog import Task, load_catalog
from juki.services.provision.output import answer_csv
from juki.services.provision.single import ProvisionRequest, ProvisionResult, provide, redeliver
from juki.services.search.conditions import JLIS_QUERY_RULES, NameMatch

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

_EMPTY: dict[str, str] = {
    "juminhyo_code": "",
    "name_kana": "",
    "name_part": "full",
    "name_match": NameMatch.EXACT.value,
    "birth_date": "",
    "sex": "",
    "address": "",
    "requester_ref": "",
}


def _tasks(web: TerminalWeb, ctx: Ctx, file: FileKind) -> list[Task]:
    """The tasks of the requesters the operator acts for, on ``file`` (never another requester's)."""
    mine = permissions.bindings(ctx.signed_in, Function.PROVISION, file)
    with web.file_connection(file) as conn:
        catalog = load_catalog(conn)
    return [t for code in sorted(mine) for t in catalog.tasks_of(code, file)]


def _page(
    web: TerminalWeb,
    ctx: Ctx,
    file: FileKind,
    *,
    chosen: str = "",
    form: dict[str, str] | None = None,
    result: ProvisionResult | None = None,
    status: int = 200,
) -> Response:
    spec = file_spec(file)
    tasks = _tasks(web, ctx, file)
    task = next((t for t in tasks if f"{t.requester.code}:{t.code}" == chosen), None)
    today = date.today()
    return web.renderer.page(
        "provision.html",
        ctx.view,
        title=f"個別提供（{spec.label}）",
        status=status,
        file=file.value,
        file_label=spec.label,
        tasks=tasks,
        task=task,
        chosen=chosen if task else "",
        valid=task.valid_on(today) if task else False,
        legal_basis=task.legal_path_label(file) if task else "",
        task_items=task.items.get(file, ()) if task else (),
        keys=task.keys_for(file) if task else (),
        methods=task.methods_for(file) if task else (),
        addon=bool(task and task.my_number_addon and spec.my_number_addon_status),
        form=form or dict(_EMPTY),
        result=result,
        rows=[(i.label, item_value(i.column, i.value)) for i in result.items] if result else [],
        rules_text=JLIS_QUERY_RULES.message,
        name_parts=NAME_PARTS,
        name_matches=NAME_MATCHES,
        key_labels={k.value: k.label for k in KeyType},
    )


@router.get("/provision/{file_name}")
def provision_form(request: Request, file_name: str, task: str = "") -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name, refusal="T_PROVISION_INPUT")
    require_logged(web, ctx.signed_in, Function.PROVISION, file, event="provision_form")
    return _page(web, ctx, file, chosen=task)


def _printed(result: ProvisionResult, spec_label: str, offices: Offices) -> bytes:
    """File 1's paper: an A4 明朝 form of the items given (the forms module lays it out), issued by
    the configured prefecture's 知事."""
    form = PrintedForm(
        title=f"{spec_label}提供書",
        issue_number=f"提供記録 第{result.record_id}号",
        issued_on=date.today().isoformat(),
        issuer=offices.issuer,
        recipient=result.requester_name,
        handling_note="取扱注意（個人情報）",
        legal_basis=result.legal_basis,
        sections=[
            KeyValueTable(
                [(i.label, item_value(i.column, i.value)) for i in result.items], heading=result.task_name
            )
        ],
        closing=EXAMPLE_MARKER if offices.example else "",
    )
    return render_form(form)


def _answer(
    web: TerminalWeb,
    ctx: Ctx,
    file: FileKind,
    chosen: str,
    form: dict[str, str],
    result: ProvisionResult,
    offices: Offices | None = None,
) -> Response:
    """The answer in the form the method asks for: a PDF (paper), a CSV (media), else the page.
    ``offices``: the prefecture's, when the caller resolved them before providing."""
    headers = {"Content-Disposition": "attachment; filename=provision-{}.{}"}
    if result.result is ResultCode.MATCH and result.method is Method.PAPER:
        disposition = headers["Content-Disposition"].format(result.record_id, "pdf")
        pdf = _printed(result, file_spec(file).label, offices or web.settings.offices())
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})
    if result.result is ResultCode.MATCH and result.method in (Method.MEDIA, Method.FLASH):
        disposition = headers["Content-Disposition"].format(result.record_id, "csv")
        return Response(
            answer_csv([result]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    status = 200 if result.provided else 422
    return _page(web, ctx, file, chosen=chosen, form=form, result=result, status=status)


@router.post("/provision/{file_name}")
def provision_post(
    request: Request,
    file_name: str,
    csrf_token: FormText = "",
    task: FormText = "",
    key_type: FormText = "",
    method: FormText = "",
    juminhyo_code: FormText = "",
    my_number: FormText = "",
    name_kana: FormText = "",
    name_part: FormText = "full",
    name_match: FormText = NameMatch.EXACT.value,
    birth_date: FormText = "",
    sex: FormText = "",
    address: FormText = "",
    with_my_number: FormText = "",
    requester_ref: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_PROVISION_INPUT")
    requester, _, task_code = task.partition(":")
    entered = ProvisionRequest(
        file=file,
        requester=requester,
        task=task_code,
        key_type=key_type,
        method=method,
        juminhyo_code=juminhyo_code,
        my_number=my_number,
        name_kana=name_kana,
        name_part=name_part,
        name_match=name_match,
        birth_date=birth_date,
        sex=sex,
        address=address,
        with_my_number=with_my_number == "1",
        requester_ref=requester_ref,
    )
    # Echoed back into the form: never the 個人番号.
    form: dict[str, Any] = {
        "juminhyo_code": juminhyo_code,
        "name_kana": name_kana,
        "name_part": name_part,
        "name_match": name_match,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
        "requester_ref": requester_ref,
    }
    # Paper names the prefecture's 知事: without configured offices, refuse before anything is provided
    # or recorded (E_OFFICES_NOT_CONFIGURED) rather than after.
    offices = web.settings.offices() if method == Method.PAPER.value else None
    with web.file_connection(file) as conn, web.file_connection(file) as records_conn:
        result = provide(
            conn,
            ctx.signed_in,
            entered,
            records_conn=records_conn,
            peer=lambda: operator_query.configured_peer(web.settings, file),
        )
    return _answer(web, ctx, file, task, form, result, offices)


@router.post("/provision/{file_name}/redeliver")
def provision_redeliver(
    request: Request, file_name: str, csrf_token: FormText = "", record: FormText = "", task: FormText = ""
) -> Response:
    """R-05: deliver again an answer with the 個人番号 add-on whose receipt failed."""
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_PROVISION_INPUT")
    try:
        record_id = int(record)
    except ValueError:
        raise Refusal("T_PROVISION_INPUT", "提供記録の番号が正しくありません") from None
    with web.file_connection(file) as conn:
        result = redeliver(conn, ctx.signed_in, file, record_id)
    return _answer(web, ctx, file, task, dict(_EMPTY), result)
