"""The query to J-LIS (F1-5: 全国サーバ, F2-5: 附票全国サーバ) at the terminal.

One page per file with a form per kind of key: 住民票コード, 個人番号 (only for a file that holds
it, `FileSpec.holds_my_number`) and the 4情報 (J-LIS's minimum conditions: a kana name and a birth
date or an address). The keys are POSTed, never put in a URL; the answer is rendered in the
response to the POST. The rights check, the operation-log row and the communication record naming
the operator are `services.jlis.operator_query`'s; a refusal about what was entered (conditions,
too many matches, a malformed key) is shown on the form, any other (no right, server not
configured or not answering) on the error page with its code.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
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
from juki.services.access.actor import Function
from juki.services.jlis import operator_query
from juki.services.jlis.communication_records import QueryKind
from juki.services.jlis.operator_query import OperatorQueryResult, QueryInput
from juki.services.search.conditions import JLIS_QUERY_RULES, NameMatch

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

_ON_FORM = frozenset({"T_JLIS_CONDITIONS", "T_JLIS_TOO_MANY", "T_JLIS_INPUT"})
NAME_PARTS = [("full", "氏名（氏＋名）"), ("family", "氏のみ"), ("given", "名のみ")]
NAME_MATCHES = [(NameMatch.EXACT.value, "完全一致"), (NameMatch.PREFIX.value, "前方一致")]
_EMPTY: dict[str, str] = {
    "by": QueryKind.JUMINHYO_CODE.value,
    "juminhyo_code": "",
    "my_number": "",
    "name_kana": "",
    "name_part": "full",
    "name_match": NameMatch.EXACT.value,
    "birth_date": "",
    "sex": "",
    "address": "",
}


def _page(
    web: TerminalWeb,
    ctx: Ctx,
    file: FileKind,
    form: dict[str, str],
    *,
    result: OperatorQueryResult | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    spec = file_spec(file)
    return web.renderer.page(
        "jlis.html",
        ctx.view,
        title=f"{spec.national_label}への照会",
        status=status,
        file=file.value,
        national_label=spec.national_label,
        holds_my_number=spec.holds_my_number,
        configured=bool(getattr(web.settings, f"{spec.national_peer.value}_url")),
        form=form,
        rules_text=JLIS_QUERY_RULES.message,
        name_parts=NAME_PARTS,
        name_matches=NAME_MATCHES,
        result=result,
        error=error,
    )


@router.get("/jlis/{file_name}")
def jlis_form(request: Request, file_name: str) -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name, refusal="T_JLIS_INPUT")
    require_logged(web, ctx.signed_in, Function.JLIS_QUERY, file, event="jlis_query_form")
    return _page(web, ctx, file, dict(_EMPTY))


@router.post("/jlis/{file_name}")
def jlis_post(
    request: Request,
    file_name: str,
    csrf_token: FormText = "",
    by: FormText = "",
    juminhyo_code: FormText = "",
    my_number: FormText = "",
    name_kana: FormText = "",
    name_part: FormText = "full",
    name_match: FormText = NameMatch.EXACT.value,
    birth_date: FormText = "",
    sex: FormText = "",
    address: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name, refusal="T_JLIS_INPUT")
    form = {
        "by": by,
        "juminhyo_code": juminhyo_code,
        "my_number": "",  # never echoed back into the page
        "name_kana": name_kana,
        "name_part": name_part,
        "name_match": name_match,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
    }
    entered = QueryInput(
        by=by,
        juminhyo_code=juminhyo_code,
        my_number=my_number,
        name_kana=name_kana,
        name_part=name_part,
        name_match=name_match,
        birth_date=birth_date,
        sex=sex,
        address=address,
    )
    try:
        with web.file_connection(file) as conn, web.file_connection(file) as records:
            result = operator_query.query(
                conn,
                records,
                ctx.signed_in,
                file,
                entered,
                peer=lambda: operator_query.configured_peer(web.settings, file),
            )
    except Refusal as refused:
        if refused.code not in _ON_FORM:
            raise
        return _page(web, ctx, file, form, error=ShownError.of(refused), status=status_of(refused.code))
    return _page(web, ctx, file, form, result=result)
