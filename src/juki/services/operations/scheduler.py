"""The embedded scheduler: APScheduler's BackgroundScheduler runs every job of definitions.JOBS.

Used when juki runs on its embedded default (`juki serve-terminal`, `juki demo`); a real deployment
uses the systemd timers `juki jobs systemd` writes instead, from the same definitions. A run that
was due while the process was down is run once at start-up when it is within the misfire grace
(coalesced: one run, not one per missed slot); anything older shows up as missed on the jobs page.
Each job runs at most once at a time.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from juki.config import Settings
from juki.services.operations.definitions import JOBS
from juki.services.operations.runner import run_job
from juki.store.db import Database

log = logging.getLogger("juki.jobs")

#: A run that could not start on time still runs if it is at most this late (seconds).
MISFIRE_GRACE_SECONDS = 3600


def _scheduled_run(db: Database, settings: Settings, name: str) -> None:
    try:
        run_job(db, settings, name, trigger="schedule")
    except Exception as exc:  # the run's own row records failures; this is the recording failing
        log.error("job %s could not be recorded: %s", name, type(exc).__name__)


def build_scheduler(db: Database, settings: Settings) -> BackgroundScheduler:
    """A scheduler with every defined job added (not started)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )
    for job in JOBS:
        scheduler.add_job(
            _scheduled_run,
            CronTrigger.from_crontab(job.cron, timezone=UTC),
            args=[db, settings, job.name],
            id=job.name,
            name=job.label,
        )
    return scheduler


def start_scheduler(db: Database, settings: Settings) -> BackgroundScheduler:
    scheduler = build_scheduler(db, settings)
    scheduler.start()
    return scheduler
