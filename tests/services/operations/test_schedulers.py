"""Both schedulers read the one job list: APScheduler (embedded) and the systemd timers (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from juki.services.operations.definitions import JOBS
from juki.services.operations.scheduler import build_scheduler
from juki.services.operations.systemd import on_calendar, write_units
from juki.store.db import Database


def test_the_embedded_scheduler_has_every_job_on_its_cron_schedule(db: Database) -> None:
    scheduler = build_scheduler(db, db.settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {j.name for j in JOBS}
    checkpoint = jobs["audit_checkpoint"].trigger
    after = checkpoint.get_next_fire_time(None, datetime(2026, 12, 1, 10, 7, tzinfo=UTC))
    assert after == datetime(2026, 12, 1, 11, 5, tzinfo=UTC)
    weekly = jobs["reconciliation_requests"].trigger.get_next_fire_time(
        None, datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert weekly == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # the next Monday


def test_systemd_units_call_juki_jobs_run_on_the_same_schedule(tmp_path: Path) -> None:
    written = write_units(tmp_path, "/opt/juki/.venv/bin/juki", {"JUKI_DATA_DIR": "/var/lib/juki"})
    assert len(written) == 2 * len(JOBS)
    service = (tmp_path / "juki-job-backup.service").read_text()
    assert "ExecStart=/opt/juki/.venv/bin/juki jobs run backup --trigger systemd" in service
    assert "Environment=JUKI_DATA_DIR=/var/lib/juki" in service
    timer = (tmp_path / "juki-job-backup.timer").read_text()
    assert "OnCalendar=*-*-* 01:00:00 UTC" in timer and "Persistent=true" in timer
    assert on_calendar("5 * * * *") == "*-*-* *:05:00 UTC"
    assert on_calendar("0 6 * * mon") == "Mon *-*-* 06:00:00 UTC"
    assert (
        "OnCalendar=Mon *-*-* 06:00:00 UTC"
        in (tmp_path / "juki-job-reconciliation_requests.timer").read_text()
    )
    assert on_calendar("*/15 * * * *") == "*-*-* *:00/15:00 UTC"
