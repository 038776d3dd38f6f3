"""The operation-log review page for auditors (REQUIREMENTS S-15..S-18; services/audit/review.py).

Filters by operator, terminal, function, outcome and period; a reproducible random sample of N
entries for internal audit (the seed is shown so the same sample can be drawn again); and the
unusual patterns of the period. The review is itself an operation: it needs the log_review right
and is written to the log (with the filters used), and a refused attempt is logged as a deny.
The filters may name a person's 住民票コード, so the form is POSTed, never put in the URL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Requests, TerminalWeb, logged_use, require_logged, web_of
from juki.interfaces.terminal.errors import SafeRoute
from juki.interfaces.terminal.labels import FUNCTION_LABELS, JST, OUTCOME_LABELS
from juki.interfaces.terminal.render import ShownError
from juki.services.access.actor import Function
from juki.services.audit import review as log_review

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]

DEFAULT_DAYS = 7
DEFAULT_SAMPLE = 20
LIST_LIMIT = 200


def _default_form() -> dict[str, Any]:
    today = datetime.now(JST).date()
    return {
        "operator": "",
        "terminal": "",
        "function": "",
        "outcome": "",
        "since": (today - timedelta(days=DEFAULT_DAYS)).isoformat(),
        "until": today.isoformat(),
        "sample_size": str(DEFAULT_SAMPLE),
        "seed": "",
    }


def _day(value: str, label: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refusal("T_SEARCH_INPUT", f"{label}は YYYY-MM-DD で指定してください") from None


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), JST).astimezone(UTC) if day else None


def _page(web: TerminalWeb, ctx: Any, form: dict[str, Any], *, status: int = 200, **results: Any) -> Response:
    return web.renderer.page(
        "audit.html",
        ctx.view,
        title="操作ログの点検",
        status=status,
        form=form,
        functions=list(FUNCTION_LABELS.items()),
        outcomes=list(OUTCOME_LABELS.items()),
        listing=results.get("listing"),
        sampled=results.get("sampled"),
        patterns=results.get("patterns"),
        error=results.get("error"),
    )


@router.get("/audit")
def audit_form(request: Request) -> Response:
    web = web_of(request)
    ctx = Requests(web).session(request)
    require_logged(web, ctx.signed_in, Function.LOG_REVIEW, event="log_review_form")
    return _page(web, ctx, _default_form())


@router.post("/audit")
def audit_post(
    request: Request,
    csrf_token: FormText = "",
    action: FormText = "list",
    operator: FormText = "",
    terminal: FormText = "",
    function: FormText = "",
    outcome: FormText = "",
    since: FormText = "",
    until: FormText = "",
    sample_size: FormText = "",
    seed: FormText = "",
) -> Response:
    web = web_of(request)
    req = Requests(web)
    ctx = req.session(request)
    req.check_csrf(request, csrf_token)
    form = {
        "operator": operator,
        "terminal": terminal,
        "function": function,
        "outcome": outcome,
        "since": since,
        "until": until,
        "sample_size": sample_size,
        "seed": seed,
    }
    require_logged(web, ctx.signed_in, Function.LOG_REVIEW, event="log_review")
    try:
        first, last = _day(since, "開始日"), _day(until, "終了日")
        size = int(sample_size) if sample_size.strip() else DEFAULT_SAMPLE
        if not 1 <= size <= log_review.MAX_PAGE:
            raise Refusal("T_SEARCH_INPUT", f"抽出件数は1〜{log_review.MAX_PAGE}で指定してください")
    except ValueError:
        return _page(
            web,
            ctx,
            form,
            status=422,
            error=ShownError.of(Refusal("T_SEARCH_INPUT", "抽出件数は数字で指定してください")),
        )
    except Refusal as refused:
        return _page(web, ctx, form, status=422, error=ShownError.of(refused))
    start = _start(first)
    end = _start(last + timedelta(days=1)) if last else None
    filters = log_review.LogFilter(
        operator_login=operator.strip() or None,
        terminal_name=terminal.strip() or None,
        function=function or None,
        outcome=outcome or None,
        since=start,
        until=end,
    )
    detail: dict[str, object] = {
        "action": action,
        "filters": {k: v for k, v in form.items() if v and k not in ("sample_size", "seed")},
    }
    results: dict[str, Any] = {}
    with web.term() as conn:
        if action == "sample":
            sampled = logged_use(
                conn,
                ctx.signed_in,
                Function.LOG_REVIEW,
                event="log_sample",
                detail={**detail, "n": size, "seed": seed.strip() or "(new)"},
                body=lambda: log_review.sample(conn, filters, size, seed.strip() or None),
            )
            results["sampled"] = sampled
            form["seed"] = sampled.seed
        elif action == "patterns":
            since_at = start or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
            until_at = end or datetime.now(UTC) + timedelta(seconds=1)
            results["patterns"] = logged_use(
                conn,
                ctx.signed_in,
                Function.LOG_REVIEW,
                event="log_patterns",
                detail=detail,
                body=lambda: log_review.unusual_patterns(conn, since_at, until_at),
            )
        else:
            results["listing"] = logged_use(
                conn,
                ctx.signed_in,
                Function.LOG_REVIEW,
                event="log_list",
                detail=detail,
                body=lambda: log_review.search_log(conn, filters, limit=LIST_LIMIT),
            )
    return _page(web, ctx, form, **results)
