"""The menu, the 4情報 search of File 1 / File 2 and the record view (F1-6, F2-6, S-25, S-16).

No personal data ever travels in a URL (ARCHITECTURE.md §4): the search conditions are a POST form
and the record to open is a POST field, so neither appears in the browser history, a proxy log or
a Referer. The search answers with a redirect to its result list kept for the session
(``services.search.result_sets``), a GET page named by an opaque id, so Back, paging and
「検索結果へ戻る」 need no new search. The S-25 minimum conditions are enforced by `services.search`,
not here; the page shows the rules and the service's explanation of what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from juki.domain.items import is_hiragana_text
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.interfaces.terminal import record_view as record_view_model
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
from juki.services.search import result_sets, service
from juki.services.search.conditions import MINIMUM_RULES, NameMatch, NamePart, SearchConditions
from juki.services.search.record_access import LookupKey
from juki.services.search.result_sets import ResultPage
from juki.services.search.service import RecordView

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
    web, ctx = page_session(request)
    return web.renderer.page("home.html", ctx.view, title="業務メニュー")


def _search_page(
    web: TerminalWeb,
    ctx: Ctx,
    file: FileKind,
    form: Mapping[str, Any],
    *,
    result: ResultPage | None = None,
    error: ShownError | None = None,
    status: int = 200,
    lookup_by: str = LookupKey.JUMINHYO_CODE.value,
    lookup_error: ShownError | None = None,
) -> Response:
    spec = file_spec(file)
    actor = ctx.signed_in
    return web.renderer.page(
        "search.html",
        ctx.view,
        title="4情報検索",
        status=status,
        file=file.value,
        form={**_EMPTY_FORM, **form},
        rules=[rule.label for rule in MINIMUM_RULES],
        name_parts=NAME_PARTS,
        name_matches=NAME_MATCHES,
        result=result,
        error=error,
        lookup_keys=lookup_keys(spec),
        lookup_by=lookup_by,
        lookup_error=lookup_error,
        can_lookup=permissions.allows(actor, Function.LOOKUP, file),
        jlis=(f"/jlis/{file.value}", spec.national_label)
        if permissions.allows(actor, Function.JLIS_QUERY, file)
        else None,
        kana_heading=kana_heading([hit.name_kana for hit in result.hits]) if result else "カナ",
    )


def search_page_with_lookup_error(
    web: TerminalWeb, ctx: Ctx, file: FileKind, by: str, error: ShownError, *, status: int
) -> Response:
    """The search page with the look-up's refusal on its form (the key typed is not echoed)."""
    return _search_page(web, ctx, file, _EMPTY_FORM, status=status, lookup_by=by, lookup_error=error)


def lookup_keys(spec: FileSpec) -> list[tuple[str, str]]:
    """The direct look-up keys a file offers: the 個人番号 only where the file holds it."""
    keys = [(LookupKey.JUMINHYO_CODE.value, "住民票コード")]
    if spec.holds_my_number:
        keys.append((LookupKey.MY_NUMBER.value, "個人番号"))
    return keys


def kana_heading(values: list[str]) -> str:
    """ふりがな over a column of hiragana only, カナ otherwise (stored kana is katakana)."""
    return "ふりがな" if values and all(is_hiragana_text(v) for v in values if v) else "カナ"


_EMPTY_FORM: dict[str, Any] = {
    "name": "",
    "name_part": NamePart.FULL.value,
    "name_match": NameMatch.EXACT.value,
    "birth_date": "",
    "sex": "",
    "address": "",
    "include_ended": False,
    "kanji_variants": False,
}


@router.get("/search/{file_name}")
def search_form(request: Request, file_name: str) -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name)
    require_logged(web, ctx.signed_in, Function.SEARCH, file, event="search_form")
    return _search_page(web, ctx, file, _EMPTY_FORM)


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
    kanji_variants: FormText = "",
) -> Response:
    """Run the search and answer with a redirect to its kept result list (POST-redirect-GET): the
    list is then a GET page that Back and 「検索結果へ戻る」 return to, by an opaque id only."""
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    form: dict[str, Any] = {
        "name": name,
        "name_part": name_part,
        "name_match": name_match,
        "birth_date": birth_date,
        "sex": sex,
        "address": address,
        "include_ended": bool(include_ended),
        "kanji_variants": bool(kanji_variants),
    }
    try:
        part, match = NamePart(name_part), NameMatch(name_match)
    except ValueError:  # only a tampered form gets here: the page offers valid choices
        shown = ShownError.of(Refusal("T_SEARCH_INPUT", "氏名の区分または一致方法が正しくありません"))
        return _search_page(web, ctx, file, _EMPTY_FORM, error=shown, status=422)
    conditions = SearchConditions(
        file=file,
        name=name,
        name_part=part,
        name_match=match,
        birth_date=birth_date,
        sex=sex,
        address=address,
        include_ended=bool(include_ended),
        kanji_variants=bool(kanji_variants),
    )
    try:
        with web.file_connection(file) as conn:
            result = service.search(conn, ctx.signed_in, conditions, limit=web.search_cap)
            set_id = result_sets.save(conn, ctx.signed_in, result, form)
    except Refusal as refused:
        if refused.code not in _SEARCH_REFUSALS_ON_FORM:
            raise
        return _search_page(
            web, ctx, file, form, error=ShownError.of(refused), status=status_of(refused.code)
        )
    return RedirectResponse(results_url(file, set_id), status_code=303)


def results_url(file: FileKind, set_id: str, page: int = 1) -> str:
    """The kept list's page: an opaque id and a page number, nothing personal."""
    url = f"/search/{file.value}/results/{set_id}"
    return url if page == 1 else f"{url}?page={page}"


@router.get("/search/{file_name}/results/{set_id}")
def search_results(request: Request, file_name: str, set_id: str, page: int = 1) -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name)
    with web.file_connection(file) as conn:
        shown = result_sets.show_page(conn, ctx.signed_in, file, set_id, page)
    return _search_page(web, ctx, file, shown.conditions, result=shown)


@router.post("/record")
def record_view(
    request: Request,
    csrf_token: FormText = "",
    file: FormText = "",
    juminhyo_code: FormText = "",
    result_set: FormText = "",
    page: FormText = "1",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    scope = file_of(file)
    with web.file_connection(scope) as conn:
        record = service.view_record(conn, ctx.signed_in, scope, juminhyo_code)
    return record_page(web, ctx, record, back=Back.of(scope, result_set, page))


@dataclass(frozen=True)
class Back:
    """Where 「検索結果へ戻る」 leads: the kept list and its page, or the empty search form."""

    file: FileKind
    result_set: str
    page: int

    @classmethod
    def of(cls, file: FileKind, result_set: str, page: str) -> Back:
        # The id only ever goes back into a URL path segment: anything but its alphabet is dropped.
        kept = result_set if result_set and _SET_ID.fullmatch(result_set) else ""
        number = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
        return cls(file, kept, number)

    @property
    def url(self) -> str:
        return (
            results_url(self.file, self.result_set, self.page)
            if self.result_set
            else f"/search/{self.file.value}"
        )

    @property
    def label(self) -> str:
        return "検索結果へ戻る" if self.result_set else "検索画面へ"


_SET_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")


def record_page(
    web: TerminalWeb, ctx: Ctx, record: RecordView, *, back: Back, reveal: bool = False
) -> Response:
    """The record page (also after a look-up or a logged 個人番号 表示)."""
    actor = ctx.signed_in
    page = record_view_model.build(record, reveal=reveal)
    return web.renderer.page(
        "record.html",
        ctx.view,
        title="記録の閲覧",
        record=page,
        back=back,
        can_reveal=page.has_my_number
        and not reveal
        and permissions.allows(actor, Function.MY_NUMBER_VIEW, record.file),
        can_print=permissions.allows(actor, Function.PRINT, record.file),
    )
