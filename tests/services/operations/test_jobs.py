"""Scheduled jobs: every run recorded, missed and failed runs flagged (issue 13 item 2; Q-09, S-20)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from juki.services.operations import runs
from juki.services.operations.definitions import JOBS, job_named
from juki.services.operations.runner import run_job
from juki.store.db import Database, DbRole
from tests.services.operations.support import T0, clock_at, with_keys


def test_every_job_resolves_to_a_function_and_has_a_five_field_schedule() -> None:
    assert {job.name for job in JOBS} >= {
        "audit_checkpoint",
        "retention_purge",
        "my_number_purge",
        "crl_renewal",
        "reconciliation_requests",
        "backup",
    }
    for job in JOBS:
        assert callable(job.resolve())
        assert len(job.cron.split()) == 5
    assert job_named("audit_checkpoint").period == timedelta(hours=1)
    with pytest.raises(KeyError):
        job_named("nope")


def test_a_run_is_recorded_with_start_end_outcome_figures_and_an_operation_log_row(db: Database) -> None:
    run = run_job(db, db.settings, "audit_checkpoint", trigger="schedule", clock=clock_at(T0))
    assert run.outcome == "succeeded" and run.error_code is None
    assert run.started_at == T0 and run.finished_at == T0
    assert "tree_size" in run.figures
    with db.connect() as conn:
        row = conn.execute(
            "SELECT actor_kind, function, target, outcome FROM audit.op_log WHERE detail->>'event' = 'job_run'"
        ).fetchone()
    assert row == ("system:scheduler", "job_run", "audit_checkpoint", "allow")


def test_missed_when_no_success_within_period_times_grace(db: Database) -> None:
    run_job(db, db.settings, "my_number_purge", clock=clock_at(T0))
    job = job_named("my_number_purge")
    with db.connect(DbRole.TERM) as conn:
        on_time = {s.job.name: s for s in runs.status(conn, T0 + job.deadline - timedelta(seconds=1))}
        late = {s.job.name: s for s in runs.status(conn, T0 + job.deadline + timedelta(seconds=1))}
    assert not on_time["my_number_purge"].flagged
    assert late["my_number_purge"].missed and late["my_number_purge"].flagged
    assert on_time["backup"].missed  # never ran at all: missed


def test_a_failed_run_has_its_code_and_is_flagged(db: Database) -> None:
    """S-46: a backup with no age recipient is refused, not written in plaintext."""
    run = run_job(db, db.settings, "backup", clock=clock_at(T0))
    assert run.outcome == "failed" and run.error_code == "E_BACKUP_NO_RECIPIENT"
    assert not (db.settings.data_dir / "backups").exists() or not any(
        (db.settings.data_dir / "backups").iterdir()
    )
    with db.connect(DbRole.TERM) as conn:
        state = {s.job.name: s for s in runs.status(conn, T0)}
    assert state["backup"].failed and state["backup"].flagged
    with_keys(db)
    later = run_job(db, db.settings, "backup", clock=clock_at(T0 + timedelta(minutes=5)))
    assert later.outcome == "succeeded", later.figures
    with db.connect(DbRole.TERM) as conn:
        state = {s.job.name: s for s in runs.status(conn, T0 + timedelta(minutes=6))}
    assert not state["backup"].flagged


def test_S53_reconciliation_requests_ask_the_first_municipalities_in_turn(db: Database) -> None:
    """S-53: the run records a request to each of the next municipalities (the whole round with the
    simulated 市町村CS answering is tests/peers/test_reconciliation_requests.py)."""
    run = run_job(db, db.settings, "reconciliation_requests", clock=clock_at(T0))
    assert run.outcome == "succeeded"
    assert run.figures["pref"]["asked"] == len(run.figures["pref"]["asked_codes"]) == run.figures["per_run"]
    assert "141011" in run.figures["pref"]["asked_codes"]
    with db.connect(DbRole.PREF) as conn:
        row = conn.execute(
            "SELECT count(*), min(requested_at), min(job_run_id) FROM pref.reconciliation_request"
            " WHERE status = 'open'"
        ).fetchone()
    assert row == (run.figures["per_run"], T0, run.id)


def test_figures_read_as_text_without_python_reprs(db: Database) -> None:
    """The jobs page and `juki jobs run` show nested figures flat (issue 10 item 13: no reprs)."""
    run = run_job(db, db.settings, "reconciliation_requests", clock=clock_at(T0))
    text = run.figures_text()
    assert "pref.asked: " in text and "fuhyo.overdue: 0" in text and "pref.asked_codes: 141011 " in text
    assert "{" not in text and "[" not in text and "'" not in text
