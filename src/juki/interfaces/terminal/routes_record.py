"""What a clerk does around a record besides the 4情報 search (F1-6, F2-6; issue 10 items 2–4):
the direct look-up by 住民票コード or 個人番号, the logged 「表示」 of a masked 個人番号, and the
照会結果票 print view.

Every key is POSTed (never in a URL) and the rights check and log row are
``services.search.record_access``'s. A malformed or unknown key is shown on the search page's
look-up form; the 個人番号 typed is never echoed back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from juki.domain.refusals import Refusal
from juki.interfaces.terminal import record_view as record_view_model
from juki.interfaces.terminal.context import file_of, posted_session
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.interfaces.terminal.routes_work import Back, record_page, search_page_with_lookup_error
from juki.services.search import record_access

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

_ON_FORM = frozenset({"T_SEARCH_INPUT", "T_RECORD_NOT_FOUND"})


@router.post("/search/{file_name}/lookup")
def lookup_post(
    request: Request, file_name: str, csrf_token: FormText = "", by: FormText = "", key: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    try:
        with web.file_connection(file) as conn:
            record = record_access.lookup(conn, ctx.signed_in, file, by, key)
    except Refusal as refused:
        if refused.code not in _ON_FORM:
            raise
        return search_page_with_lookup_error(
            web, ctx, file, by, ShownError.of(refused), status=status_of(refused.code)
        )
    return record_page(web, ctx, record, back=Back.of(file, "", "1"))


@router.post("/record/my-number")
def reveal_my_number(
    request: Request,
    csrf_token: FormText = "",
    file: FormText = "",
    juminhyo_code: FormText = "",
    result_set: FormText = "",
    page: FormText = "1",
) -> Response:
    """The same record with its 個人番号 shown: a use of its own, checked and logged."""
    web, ctx = posted_session(request, csrf_token)
    scope = file_of(file)
    with web.file_connection(scope) as conn:
        record = record_access.reveal_my_number(conn, ctx.signed_in, scope, juminhyo_code)
    return record_page(web, ctx, record, back=Back.of(scope, result_set, page), reveal=True)


@router.post("/record/print")
def print_view(
    request: Request,
    csrf_token: FormText = "",
    file: FormText = "",
    juminhyo_code: FormText = "",
    result_set: FormText = "",
    page: FormText = "1",
) -> Response:
    """The 照会結果票: the record laid out for paper with the print date and time, the operator,
    the terminal and 取扱注意. Opening it is the output (logged); the browser's print follows."""
    web, ctx = posted_session(request, csrf_token)
    scope = file_of(file)
    with web.file_connection(scope) as conn:
        record = record_access.print_record(conn, ctx.signed_in, scope, juminhyo_code)
    actor = ctx.signed_in
    return web.renderer.page(
        "print.html",
        ctx.view,
        title=record_access.PRINT_FORM,
        record=record_view_model.build(record),
        printed_at=record_view_model.wareki_time(datetime.now(UTC)),
        operator=actor.login,
        terminal=actor.terminal_name,
        back=Back.of(scope, result_set, page),
    )
