"""The demo's scheduled jobs: each runs once at start (so the jobs page has runs to show), then
the embedded scheduler keeps them on schedule while the demo serves the terminal UI."""

from __future__ import annotations

import atexit

from apscheduler.schedulers.background import BackgroundScheduler

from juki.config import Settings
from juki.interfaces.common import console
from juki.services.operations import age_keys
from juki.services.operations.definitions import JOBS
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.operations.runner import run_job
from juki.services.operations.scheduler import start_scheduler
from juki.store.db import Database


def run_jobs_once(db: Database, settings: Settings) -> BackgroundScheduler:
    """Run every job once (trigger 'demo'), then start the scheduler; returns it (stopped at exit)."""
    ops = OperationsSettings.for_settings(settings)
    if not ops.recipients_file.exists():
        # The demo's own key pair, in the data directory's key folder (never in the repository).
        age_keys.keygen(ops.identity_file, ops.recipients_file)
    console.print("   定期処理を1回ずつ実行（記録は端末の「定期処理・バックアップ」画面）:")
    for job in JOBS:
        run = run_job(db, settings, job.name, trigger="demo")
        outcome = run.error_code or "成功"
        console.print(f"   - {job.label}: {outcome}（{run.seconds or 0:.1f} 秒）")
    scheduler = start_scheduler(db, settings)
    atexit.register(_stop, scheduler)
    return scheduler


def _stop(scheduler: BackgroundScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)
