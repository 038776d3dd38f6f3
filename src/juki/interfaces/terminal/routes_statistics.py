"""The statistics page of the terminal (F1-8, REC-10) and its exports.

``GET /statistics/{file}?as_of=YYYY-MM-DD`` shows every table with its chart (the as-of date is
not personal data, so it may sit in the URL and be bookmarked); ``POST /statistics/{file}/export``
returns the same report as CSV (UTF-8 with BOM, or Shift_JIS) or XLSX. Both go through
`services.statistics.service`, which checks the ``statistics`` right and writes one operation-log
row per view and per export.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from markupsafe import Markup

from juki.domain.refusals import Refusal
from juki.files import all_files, file_spec
from juki.interfaces.terminal import charts
from juki.interfaces.terminal.context import (
    file_of,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.labels import JST
from juki.services.access.actor import Function
from juki.services.statistics.export import export
from juki.services.statistics.service import parse_request, statistics_report
from juki.services.statistics.tables import StatsReport

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

EXPORTS = (("csv_utf8", "CSV（UTF-8）"), ("csv_sjis", "CSV（Shift_JIS）"), ("xlsx", "Excel（XLSX）"))


def _today() -> date:
    return datetime.now(JST).date()


def chart_set(report: StatsReport) -> dict[str, Markup]:
    """The page's charts, drawn from the same tables the page and the exports show."""
    age = report.table("population_by_age")
    areas = report.table("population_by_municipality")
    lg = report.request.lg_table
    municipal = [
        (str(row[1]).removesuffix("（計）"), int(row[4]))
        for row in areas.rows
        if lg.city_of(str(row[0])) is None and str(row[0]) != lg.prefecture().code
    ]
    moves = report.table("movements_by_reason").rows[-1]
    updates = report.table("updates_by_municipality_day")
    months = report.request.months
    return {
        "pyramid": charts.pyramid(
            "chart-pyramid",
            f"人口ピラミッド（{report.request.as_of.isoformat()} 現在）",
            # the bands by age; 不詳 and the total stay in the table (no place on an age axis)
            [(str(r[0]), int(r[1]), int(r[2])) for r in age.rows[:-2]],
        ),
        "municipal": charts.hbars("chart-municipal", "市町村別人口（指定都市は行政区の合計）", municipal),
        "movements": charts.columns(
            "chart-movements",
            "月別異動件数",
            [(m, int(v)) for m, v in zip(months, moves[1:-1], strict=True)],
        ),
        "updates": charts.columns(
            "chart-updates",
            "日別更新件数",
            [
                (str(label), int(v))
                for label, v in zip(updates.columns[2:-1], updates.rows[-1][2:-1], strict=True)
            ],
        ),
    }


@router.get("/statistics/{file_name}")
def statistics_page(request: Request, file_name: str, as_of: str = "") -> Response:
    web, ctx = page_session(request)
    file = file_of(file_name)
    require_logged(web, ctx.signed_in, Function.STATISTICS, file, event="statistics")
    today = _today()
    with web.file_connection(file) as conn:
        stats_request = parse_request(
            conn,
            ctx.signed_in,
            file,
            as_of or today.isoformat(),
            today=today,
            output="page",
            prefecture=web.settings.prefecture,
        )
        report = statistics_report(conn, ctx.signed_in, stats_request, output="page")
    return web.renderer.page(
        "statistics.html",
        ctx.view,
        title=f"統計（{file_spec(file).label}）",
        file=file.value,
        files=[(spec.value, spec.label) for spec in all_files()],
        report=report,
        charts=chart_set(report),
        exports=EXPORTS,
        today=today.isoformat(),
    )


@router.post("/statistics/{file_name}/export")
def statistics_export(
    request: Request,
    file_name: str,
    csrf_token: FormText = "",
    as_of: FormText = "",
    output: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    require_logged(web, ctx.signed_in, Function.STATISTICS, file, event="statistics")
    if output not in dict(EXPORTS):
        raise Refusal("T_STATS_FORMAT")
    today = _today()
    with web.file_connection(file) as conn:
        stats_request = parse_request(
            conn,
            ctx.signed_in,
            file,
            as_of or today.isoformat(),
            today=today,
            output=output,
            prefecture=web.settings.prefecture,
        )
        report = statistics_report(conn, ctx.signed_in, stats_request, output=output)
    made = export(report, output)
    return Response(
        made.content,
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )
