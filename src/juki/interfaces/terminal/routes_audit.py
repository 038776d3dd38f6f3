"""The operation-log review page for auditors (REQUIREMENTS S-15..S-18; services/audit/review.py).

Filters by operator, terminal, function, outcome, period and person (住民票コード: "who looked at
this resident", record views and searches that returned them alike); a sorted listing paged on the
server; its export as CSV (itself logged as an output by the auditor); a reproducible random sample
of N entries for internal audit (the seed is shown so the same sample can be drawn again); and the
unusual patterns of the period, each with a button that lists exactly its rows. The review is
itself an operation: it needs the log_review right and is written to the log (with the filters
used, and the person as its target), and a refused attempt is logged as a deny.

Every filter travels in the POSTed form — paging and the patterns' buttons too — never in the URL:
a 住民票コード is personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final

import psycopg
from fastapi import APIRouter, Form, Request, Response

from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.refusals import Refusal
from juki.interfaces.terminal.audit_csv import log_csv
from juki.interfaces.terminal.context import (
    Ctx,
    TerminalWeb,
    logged_use,
    page_session,
    posted_session,
    require_logged,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.labels import FUNCTION_LABELS, JST, OUTCOME_LABELS, timestamp_label
from juki.interfaces.terminal.render import ShownError
from juki.services.access.actor import Function
from juki.services.audit import review as log_review
from juki.services.audit.pattern_settings import PatternThresholds, load_thresholds

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

DEFAULT_DAYS = 7
DEFAULT_SAMPLE = 20
#: Rows on one page of the listing: a screen or two, whatever the log holds.
PAGE_SIZE: Final = 50
#: Rows one CSV export may hold; more must be narrowed (the file is built in memory).
EXPORT_MAX: Final = 50_000
SORT_LABELS: Final = {
    log_review.LogSort.NEWEST.value: "新しい順",
    log_review.LogSort.OLDEST.value: "古い順",
    log_review.LogSort.OPERATOR.value: "操作者順",
    log_review.LogSort.FUNCTION.value: "機能順",
}
#: The form's filter fields (what paging, the export and a pattern's button carry along).
FILTER_FIELDS: Final = (
    "operator",
    "terminal",
    "outcome",
    "target",
    "since",
    "until",
    "since_at",
    "until_at",
    "hours",
)


@dataclass
class ReviewForm:
    """The review form as posted (strings, as typed) — rendered back, and carried by every button."""

    operator: str = ""
    terminal: str = ""
    functions: tuple[str, ...] = ()
    outcome: str = ""
    target: str = ""
    since: str = ""
    until: str = ""
    since_at: str = ""  # exact bounds from a pattern's button (ISO 8601), taking over since/until
    until_at: str = ""
    hours: str = ""  # "HH:MM-HH:MM": only rows outside these hours (a pattern's button)
    sort: str = log_review.LogSort.NEWEST.value
    sample_size: str = str(DEFAULT_SAMPLE)
    seed: str = ""

    def filters_used(self) -> dict[str, object]:
        """The non-empty filters, for the review's own log row."""
        used: dict[str, object] = {k: getattr(self, k) for k in FILTER_FIELDS if getattr(self, k)}
        if self.functions:
            used["function"] = list(self.functions)
        return used


def _default_form() -> ReviewForm:
    today = datetime.now(JST).date()
    return ReviewForm(since=(today - timedelta(days=DEFAULT_DAYS)).isoformat(), until=today.isoformat())


def _day(value: str, label: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refusal("T_SEARCH_INPUT", f"{label}は YYYY-MM-DD で指定してください") from None


def _instant(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Refusal("T_SEARCH_INPUT", "期間の指定が正しくありません") from None
    return found if found.tzinfo else found.replace(tzinfo=JST)


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), JST).astimezone(UTC) if day else None


def _hours(value: str, offset: timedelta) -> log_review.WorkingHours | None:
    if not value.strip():
        return None
    try:
        start, end = (datetime.strptime(part, "%H:%M").time() for part in value.split("-"))
    except ValueError:
        raise Refusal("T_SEARCH_INPUT", "時間帯の指定が正しくありません") from None
    return log_review.WorkingHours(start, end, offset)


def _target(value: str) -> str | None:
    code = normalize_digits(value.strip())
    if not code:
        return None
    if not is_ascii_digits(code, 11):
        raise Refusal("T_SEARCH_INPUT", "住民票コードは11桁の数字で指定してください")
    return code


def _filters(form: ReviewForm, thresholds: PatternThresholds) -> log_review.LogFilter:
    """The service's filter of a posted form (T_SEARCH_INPUT for anything malformed)."""
    first, last = _day(form.since, "開始日"), _day(form.until, "終了日")
    since_at, until_at = _instant(form.since_at), _instant(form.until_at)
    known = set(FUNCTION_LABELS)
    if any(f not in known for f in form.functions):
        raise Refusal("T_SEARCH_INPUT", "機能の指定が正しくありません")
    return log_review.LogFilter(
        operator_login=form.operator.strip() or None,
        terminal_name=form.terminal.strip() or None,
        functions=form.functions,
        outcome=form.outcome or None,
        target=_target(form.target),
        since=since_at or _start(first),
        until=until_at or (_start(last + timedelta(days=1)) if last else None),
        outside_hours=_hours(form.hours, thresholds.utc_offset),
    )


def _pattern_form(rows: log_review.LogFilter) -> dict[str, Any]:
    """The hidden fields of a pattern's button: the filter of exactly its rows."""
    hours = rows.outside_hours
    return {
        "operator": rows.operator_login or "",
        "function": list(rows.functions) or ([rows.function] if rows.function else []),
        "outcome": rows.outcome or "",
        "target": rows.target or "",
        "since_at": rows.since.isoformat() if rows.since else "",
        "until_at": rows.until.isoformat() if rows.until else "",
        "hours": f"{hours.start:%H:%M}-{hours.end:%H:%M}" if hours else "",
    }


def _as_time(value: str) -> str:
    """An ISO instant of a pattern's bounds as the page shows times (JST); "" stays ""."""
    try:
        return timestamp_label(datetime.fromisoformat(value)) if value else ""
    except ValueError:
        return value


def _thresholds(web: TerminalWeb) -> PatternThresholds:
    try:
        return load_thresholds(web.settings.audit_patterns_file)
    except (OSError, ValueError) as error:
        raise Refusal("T_AUDIT_SETTINGS") from error


def _page(web: TerminalWeb, ctx: Ctx, form: ReviewForm, *, status: int = 200, **results: Any) -> Response:
    return web.renderer.page(
        "audit.html",
        ctx.view,
        title="操作ログの点検",
        status=status,
        form=form,
        functions=list(FUNCTION_LABELS.items()),
        outcomes=list(OUTCOME_LABELS.items()),
        sorts=list(SORT_LABELS.items()),
        sort_labels=SORT_LABELS,
        as_time=_as_time,
        listing=results.get("listing"),
        sampled=results.get("sampled"),
        patterns=results.get("patterns"),
        thresholds=results.get("thresholds"),
        pattern_form=_pattern_form,
        error=results.get("error"),
    )


@router.get("/audit")
def audit_form(request: Request) -> Response:
    web, ctx = page_session(request)
    require_logged(web, ctx.signed_in, Function.LOG_REVIEW, event="log_review_form")
    return _page(web, ctx, _default_form())


@router.post("/audit")
def audit_post(
    request: Request,
    csrf_token: FormText = "",
    action: FormText = "list",
    operator: FormText = "",
    terminal: FormText = "",
    function: FormList | None = None,
    outcome: FormText = "",
    target: FormText = "",
    since: FormText = "",
    until: FormText = "",
    since_at: FormText = "",
    until_at: FormText = "",
    hours: FormText = "",
    sort: FormText = "",
    page: FormText = "",
    sample_size: FormText = "",
    seed: FormText = "",
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    form = ReviewForm(
        operator=operator,
        terminal=terminal,
        functions=tuple(f for f in (function or []) if f),
        outcome=outcome,
        target=target,
        since=since,
        until=until,
        since_at=since_at,
        until_at=until_at,
        hours=hours,
        sort=sort or log_review.LogSort.NEWEST.value,
        sample_size=sample_size or str(DEFAULT_SAMPLE),
        seed=seed,
    )
    require_logged(web, ctx.signed_in, Function.LOG_REVIEW, event="log_review")
    try:
        thresholds = _thresholds(web)
        filters = _filters(form, thresholds)
        order = log_review.LogSort(form.sort) if form.sort in SORT_LABELS else None
        if order is None:
            raise Refusal("T_SEARCH_INPUT", "並び順の指定が正しくありません")
        number = int(page) if page.strip() else 1
        size = int(form.sample_size)
        if not 1 <= size <= log_review.MAX_PAGE:
            raise Refusal("T_SEARCH_INPUT", f"抽出件数は1〜{log_review.MAX_PAGE}で指定してください")
        if number < 1 or (number - 1) * PAGE_SIZE > log_review.MAX_OFFSET:
            raise Refusal("T_SEARCH_INPUT", "これより先のページは表示できません。条件を絞ってください")
    except ValueError:
        return _page(
            web,
            ctx,
            form,
            status=422,
            error=ShownError.of(Refusal("T_SEARCH_INPUT", "件数・ページは数字で指定してください")),
        )
    except Refusal as refused:
        return _page(web, ctx, form, status=422, error=ShownError.of(refused))
    detail: dict[str, object] = {"action": action, "filters": form.filters_used()}
    results: dict[str, Any] = {}
    who = ctx.signed_in
    with web.term() as conn:
        if action == "export":
            return _export(web, ctx, form, conn, filters, order, detail)
        if action == "sample":
            sampled = logged_use(
                conn,
                who,
                Function.LOG_REVIEW,
                event="log_sample",
                detail={**detail, "n": size, "seed": form.seed.strip() or "(new)"},
                target=filters.target,
                body=lambda: log_review.sample(conn, filters, size, form.seed.strip() or None),
            )
            results["sampled"] = sampled
            form.seed = sampled.seed
        elif action == "patterns":
            first = filters.since or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
            last = filters.until or datetime.now(UTC) + timedelta(seconds=1)
            results["patterns"] = logged_use(
                conn,
                who,
                Function.LOG_REVIEW,
                event="log_patterns",
                detail={**detail, "settings": thresholds.source},
                body=lambda: log_review.unusual_patterns(conn, first, last, thresholds),
            )
            results["thresholds"] = thresholds
        else:
            results["listing"] = logged_use(
                conn,
                who,
                Function.LOG_REVIEW,
                event="log_list",
                detail={**detail, "page": number, "sort": order.value},
                target=filters.target,
                body=lambda: log_review.search_log(
                    conn, filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, sort=order
                ),
            )
    return _page(web, ctx, form, **results)


def _export(
    web: TerminalWeb,
    ctx: Ctx,
    form: ReviewForm,
    conn: psycopg.Connection[Any],
    filters: log_review.LogFilter,
    order: log_review.LogSort,
    detail: dict[str, object],
) -> Response:
    """The filtered listing as CSV, recorded in the log as the auditor's output (event log_export,
    format and row count) in the same transaction as the read."""
    detail.update({"format": "csv", "sort": order.value})

    def body() -> bytes:
        total = log_review.search_log(conn, filters, limit=1, sort=order).total
        if total > EXPORT_MAX:
            raise Refusal("T_AUDIT_EXPORT_TOO_MANY", f"{total}件、上限{EXPORT_MAX}件")
        content, rows = log_csv(log_review.iter_log(conn, filters, order))
        detail["rows"] = rows  # read by logged_use after the body: the row says how much left
        return content

    try:
        content = logged_use(
            conn,
            ctx.signed_in,
            Function.LOG_REVIEW,
            event="log_export",
            detail=detail,
            target=filters.target,
            body=body,
        )
    except Refusal as refused:
        return _page(web, ctx, form, status=422, error=ShownError.of(refused))
    stamp = datetime.now(JST).strftime("%Y%m%d-%H%M%S")
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="oplog-{stamp}.csv"'},
    )
