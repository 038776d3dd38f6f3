"""The scheduled jobs, the backup register and the retention table at the terminal (issue 13).

``GET /jobs`` (administrators: `jobs_admin`): each job with its last run, last success and a flag
when it is missed or failed; the latest runs with their figures; the backup register with its
restore-drill outcome and the weekly checklist (REC-9); the retention table. Nothing here is
personal data; viewing it is logged like every administrative function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from juki.interfaces.terminal.context import logged_use, page_session
from juki.interfaces.terminal.errors import SafeRoute
from juki.services.access.actor import Function
from juki.services.operations import checklist, runs
from juki.services.operations.retention import RETENTION

router = APIRouter(route_class=SafeRoute)

OUTCOME_LABELS = {"running": "実行中", "succeeded": "成功", "failed": "失敗"}
TRIGGER_LABELS = {"schedule": "定期", "manual": "手動", "demo": "デモ", "systemd": "systemd"}


@dataclass(frozen=True)
class JobsPage:
    states: list[runs.JobStatus]
    recent: list[runs.JobRun]
    backups: list[dict[str, Any]]
    check: checklist.WeeklyCheck | None
    check_overdue: bool


def _read(conn: Any, now: datetime) -> JobsPage:
    rows = conn.execute(
        "SELECT file_name, kind, created_at, retain_until, size_bytes, verify_outcome, verified_at, purged_at"
        " FROM term.backups ORDER BY created_at DESC, id DESC LIMIT 20"
    ).fetchall()
    keys = (
        "stem",
        "kind",
        "created_at",
        "retain_until",
        "bytes",
        "verify_outcome",
        "verified_at",
        "purged_at",
    )
    return JobsPage(
        states=runs.status(conn, now),
        recent=runs.recent_runs(conn, limit=30),
        backups=[dict(zip(keys, row, strict=True)) for row in rows],
        check=checklist.latest_check(conn),
        check_overdue=checklist.check_overdue(conn, now),
    )


@router.get("/jobs")
def jobs_page(request: Request) -> Response:
    web, ctx = page_session(request)
    now = datetime.now(UTC)
    with web.term() as conn:
        page = logged_use(
            conn, ctx.signed_in, Function.JOBS_ADMIN, event="jobs_view", body=lambda: _read(conn, now)
        )
    flagged = [s for s in page.states if s.flagged]
    if flagged:
        ctx.view.notices.append(f"実行漏れまたは失敗した定期処理が {len(flagged)} 件あります")
    return web.renderer.page(
        "jobs.html",
        ctx.view,
        title="定期処理・バックアップ",
        page=page,
        retention=RETENTION,
        outcome_labels=OUTCOME_LABELS,
        trigger_labels=TRIGGER_LABELS,
        check_labels={**checklist.AUTOMATIC, **checklist.CONFIRMED},
    )
