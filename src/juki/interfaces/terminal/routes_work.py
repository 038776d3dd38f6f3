"""The menu, the 4情報 search of File 1 / File 2 and the record view (F1-6, F2-6, S-25, S-16).

No personal data ever travels in a URL (ARCHITECTURE.md §4): the search conditions are a POST form
and the record to open is a POST field, so neither appears in the browser history, a proxy log or
a Referer. The S-25 minimum conditions are enforced by `services.search`, not here; the page shows
the rules and the service's explanation of what is missing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Ctx, Requests, TerminalWeb, file_of, require_logged, web_of
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.render import ShownError, status_of
from juki.services.access.actor import Function
from juki.services.search import service
from juki.services.search.conditions import MINIMUM_RULES, NameMatch, NamePart, SearchConditions
from juki.services.search.service import SearchResult

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

NAME_PARTS = [
    (NamePart.FULL.value, "氏名（氏＋名）"),
    (NamePart.FAMILY.value, "氏のみ"),
    (NamePart.GIVEN.value, "名のみ"),
]
NAME_MATCHES = [(NameMatch.EXACT.value, "完全一致"), (NameMatch.PREFIX.value, "前方一致")]
_SEARCH_REFUSALS_ON_FORM = frozenset({"T_SEARCH_CONDITIONS", "T_SEARCH_TOO_MANY", "T_SEARCH_INPUT"})


@router.get("/")
def home(request: Request) -> Response:
    ctx = Requests(web_of(request)).session(request)
    return web_of(request).renderer.page("home.html", ctx.view, title="業務メニュー")


def _search_page(
    web: TerminalWeb,
    ctx: Ctx,
    file: FileKind,
    form: dict[str, Any],
    *,
    result: SearchResult | None = None,
    error: ShownError | None = None,
    status: int = 200,
) -> Response:
    return web.renderer.page(
        "search.html",
        ctx.view,
        title="4情報検索",
        status=status,
        file=file.value,
        form=form,
        rules=[rule.label for rule in MINIMUM_RULES],
        name_parts=NAME_PARTS,
        name_matches=NAME_MATCHES,
        result=result,
        error=error,
    )


_EMPTY_FORM: dict[str, Any] = {
    "name": "",
    "name_part": NamePart.FULL.value,
    "name_match": NameMatch.EXACT.value,
    "birth_date": "",
    "sex": "",
    "address": "",
    "include_ended": False,
}


@router.get("/search/{file_name}")
def search_form(request: Request, file_name: str) -> Response:
    web = web_of(request)
    ctx = Requests(web).session(request)
    file = file_of(file_name)
    require_logged(web, ctx.signed_in, Function.SEARCH, file, event="search_form")
    return _search_page(web, ctx, file, dict(_EMPTY_FORM))


@router.post("/search/{file_name}")
def search_post(
    request: Request,
    file_name: str,
    csrf_token: FormText = "",
    name: FormText = "",
    name_part: FormText = NamePart.FULL.value,
    name_match: FormText = NameMatch.EXACT.value,
    birth_date: FormText = "",
    sex: FormText = "",
    address: FormText = "",
    include_ended: FormText = "",
) -> Response:
    web = web_of(request)
    req = Requests(web)
    ctx = req.session(request)
    req.check_csrf(request, csrf_token)
    file = file_of(file_name)
    form: dict[str, Any] = {
        "name": name,
        "name_part": name_part,
        "name_match": name_match,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
        "include_ended": bool(include_ended),
    }
    try:
        part, match = NamePart(name_part), NameMatch(name_match)
    except ValueError:  # only a tampered form gets here: the page offers valid choices
        shown = ShownError.of(Refusal("T_SEARCH_INPUT", "氏名の区分または一致方法が正しくありません"))
        return _search_page(web, ctx, file, dict(_EMPTY_FORM), error=shown, status=422)
    conditions = SearchConditions(
        file=file,
        name=name,
        name_part=part,
        name_match=match,
        birth_date=birth_date,
        sex=sex,
        address=address,
        include_ended=bool(include_ended),
    )
    try:
        with web.file_connection(file) as conn:
            result = service.search(conn, ctx.signed_in, conditions, limit=web.search_cap)
    except Refusal as refused:
        if refused.code not in _SEARCH_REFUSALS_ON_FORM:
            raise
        return _search_page(
            web, ctx, file, form, error=ShownError.of(refused), status=status_of(refused.code)
        )
    return _search_page(web, ctx, file, form, result=result)


@router.post("/record")
def record_view(
    request: Request, csrf_token: FormText = "", file: FormText = "", juminhyo_code: FormText = ""
) -> Response:
    web = web_of(request)
    req = Requests(web)
    ctx = req.session(request)
    req.check_csrf(request, csrf_token)
    scope = file_of(file)
    with web.file_connection(scope) as conn:
        record = service.view_record(conn, ctx.signed_in, scope, juminhyo_code)
    return web.renderer.page("record.html", ctx.view, title="記録の閲覧", record=record)
