"""Run one scheduled job and record it: start, end, outcome, figures, error code (issue 13 item 2).

Every run — scheduled, by hand, from systemd or from the demo — goes through `run_job`, so each has
its term.job_runs row and one operation-log row as `system:scheduler` (the administrative act, with
the job's figures; S-15). A job that raises is a failed run with a stable code: `JobFailed` carries
its own, anything else is E_JOB_FAILED with the exception's class name only — never its message,
which could quote data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from juki.config import Settings
from juki.services.access.actor import Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.operations import runs
from juki.services.operations.context import JobContext, JobFailed
from juki.services.operations.definitions import job_named
from juki.services.operations.runs import JobRun
from juki.store.db import Database, DbRole

#: The system name of scheduled runs in the operation log (migration 0038).
SYSTEM_SCHEDULER = "scheduler"
#: The operation-log function of a job run (not an operator's function: no role may call it).
FUNCTION_JOB_RUN = "job_run"

log = logging.getLogger("juki.jobs")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_job(
    db: Database,
    settings: Settings,
    name: str,
    *,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> JobRun:
    """Run the job ``name`` now (as ``clock`` tells it) and return its completed run record.

    Raises KeyError for an unknown job (E_JOB_UNKNOWN at the interfaces)."""
    job = job_named(name)
    started = clock()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        run_id = runs.record_start(conn, job.name, trigger, started, scheduled_for)
    figures: Mapping[str, object] = {}
    error_code: str | None = None
    try:
        figures = job.resolve()(JobContext(db=db, settings=settings, now=started, run_id=run_id))
    except JobFailed as failed:
        error_code = failed.code
        figures = {**failed.figures, **({"detail": failed.detail} if failed.detail else {})}
    except Exception as exc:  # a job must never take the scheduler down; the class says enough
        error_code = "E_JOB_FAILED"
        figures = {"exception": type(exc).__name__}
        log.warning("job %s failed: %s", job.name, type(exc).__name__)
    finished = clock()
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        runs.record_finish(conn, run_id, finished, figures, error_code)
        with conn.transaction():
            record_operation(
                conn,
                None,
                function=FUNCTION_JOB_RUN,
                file=None,
                outcome=Outcome.ERROR if error_code else Outcome.ALLOW,
                target=job.name,
                detail={"event": "job_run", "run_id": run_id, "trigger": trigger, "error_code": error_code},
                system=SYSTEM_SCHEDULER,
            )
        return runs.get_run(conn, run_id)
