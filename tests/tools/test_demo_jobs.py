"""`make run` shows the jobs page with runs already recorded: the demo runs each job once (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime

from juki.services.operations import runs
from juki.services.operations.definitions import JOBS
from juki.store.db import Database, DbRole
from juki.tools.demo_jobs import run_jobs_once


def test_the_demo_records_one_successful_run_of_every_job_and_keeps_them_scheduled(db: Database) -> None:
    scheduler = run_jobs_once(db, db.settings)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {j.name for j in JOBS}
        with db.connect(DbRole.TERM) as conn:
            states = runs.status(conn, datetime.now(UTC))
        assert all(s.last is not None and s.last.trigger == "demo" for s in states)
        assert not [s.job.name for s in states if s.flagged]
    finally:
        scheduler.shutdown(wait=False)
