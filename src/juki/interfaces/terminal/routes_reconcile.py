"""The results of the consistency check with the 市町村CS (F1-7, F2-7) at the terminal.

``GET /reconcile/{file}`` lists the latest runs (status and counts, no personal data); opening a
run and paging through its differences is a POST (the differences name persons, and the run and
page asked for stay out of URLs like every other choice that leads to personal data). The rights
check and the operation-log row of each page are `services.registry.reconciliation_review`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.interfaces.terminal.context import (
    file_of,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.services.access.actor import Function
from juki.services.registry import reconciliation_review

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

KIND_LABELS = {
    "missing_on_server": "サーバに記録なし（市町村にのみあり）",
    "missing_on_municipal": "市町村に記録なし（サーバにのみあり）",
    "different": "項目の相違",
}
STATUS_LABELS = {"running": "実行中", "completed": "完了", "failed": "失敗"}


def _number(value: str, label: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise Refusal("T_SEARCH_INPUT", f"{label}は数字で指定してください")
    return int(text)


@router.get("/reconcile/{file_name}")
def run_list(request: Request, file_name: str) -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name)
    with web.file_connection(file) as conn:
        runs = reconciliation_review.runs(conn, ctx.signed_in, file)
    return web.renderer.page(
        "reconcile_runs.html",
        ctx.view,
        title="整合性確認の結果",
        file=file.value,
        server_label=file_spec(file).server_label,
        runs=runs,
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
    )


@router.post("/reconcile/{file_name}/run")
def run_differences(
    request: Request, file_name: str, csrf_token: FormText = "", run_id: FormText = "", after: FormText = "0"
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    # The right first, so an operator without it is refused (and logged) whatever the form holds.
    require_logged(
        web, ctx.signed_in, Function.RECONCILIATION_REVIEW, file, event="reconciliation_differences"
    )
    run, start = _number(run_id, "実行番号"), _number(after or "0", "表示位置")
    with web.file_connection(file) as conn:
        page = reconciliation_review.differences(conn, ctx.signed_in, file, run, after=start)
    return web.renderer.page(
        "reconcile_run.html",
        ctx.view,
        title=f"整合性確認の結果（実行 {page.run.run_id}）",
        file=file.value,
        page=page,
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
    )
