"""Run records of the scheduled jobs (term.job_runs, migration 0038) and their flags.

A run's row is written when it starts and completed when it ends, each in its own short
transaction, so a run that dies half way stays 'running' and is flagged once past its deadline.
`status` answers, per job: the last run, the last successful run, and whether the job is missed
(no success within period × GRACE, or never) or failed (its last finished run failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from juki.services.operations.definitions import JOBS, JobDefinition

_COLUMNS = "id, job, trigger, scheduled_for, started_at, finished_at, outcome, figures, error_code"


@dataclass(frozen=True)
class JobRun:
    """One run as recorded."""

    id: int
    job: str
    trigger: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    figures: dict[str, Any]
    error_code: str | None

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def figures_text(self) -> str:
        """The figures as one line for people (page, CLI): nested figures as ``pref.asked: 14``,
        lists space-separated — never a Python repr."""
        return ", ".join(f"{key}: {value}" for key, value in _flat(self.figures))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "trigger": self.trigger,
            "scheduled_for": self.scheduled_for.isoformat() if self.scheduled_for else None,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome,
            "seconds": self.seconds,
            "figures": self.figures,
            "error_code": self.error_code,
        }


def _flat(figures: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in figures.items():
        if isinstance(value, Mapping):
            out += _flat(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            out.append((f"{prefix}{key}", " ".join(_item(v) for v in value) or "—"))
        else:
            out.append((f"{prefix}{key}", "—" if value is None else str(value)))
    return out


def _item(value: Any) -> str:
    if isinstance(value, Mapping):
        return "(" + " ".join(f"{k}={v}" for k, v in value.items()) + ")"
    return str(value)


def _run(row: Sequence[Any]) -> JobRun:
    return JobRun(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], dict(row[7] or {}), row[8])


def record_start(
    conn: psycopg.Connection[Any],
    job: str,
    trigger: str,
    started_at: datetime,
    scheduled_for: datetime | None,
) -> int:
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO term.job_runs (job, trigger, scheduled_for, started_at) VALUES (%s, %s, %s, %s)"
            " RETURNING id",
            (job, trigger, scheduled_for, started_at),
        ).fetchone()
    assert row is not None
    return int(row[0])


def record_finish(
    conn: psycopg.Connection[Any],
    run_id: int,
    finished_at: datetime,
    figures: Mapping[str, object],
    error_code: str | None = None,
) -> None:
    outcome = "failed" if error_code else "succeeded"
    with conn.transaction():
        conn.execute(
            "UPDATE term.job_runs SET finished_at = %s, outcome = %s, figures = %s, error_code = %s"
            " WHERE id = %s AND outcome = 'running'",
            (finished_at, outcome, Jsonb(dict(figures)), error_code, run_id),
        )


def recent_runs(conn: psycopg.Connection[Any], limit: int = 50, job: str | None = None) -> list[JobRun]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM term.job_runs WHERE %(job)s::text IS NULL OR job = %(job)s"
        " ORDER BY started_at DESC, id DESC LIMIT %(limit)s",
        {"job": job, "limit": limit},
    ).fetchall()
    return [_run(r) for r in rows]


@dataclass(frozen=True)
class JobStatus:
    """One job's state for the administration page and `juki jobs status --json`."""

    job: JobDefinition
    last: JobRun | None
    last_success: JobRun | None
    missed: bool
    failed: bool

    @property
    def flagged(self) -> bool:
        return self.missed or self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.name,
            "label": self.job.label,
            "cron": self.job.cron,
            "requirement": self.job.requirement,
            "last": self.last.to_dict() if self.last else None,
            "last_success_at": self.last_success.finished_at.isoformat()
            if self.last_success and self.last_success.finished_at
            else None,
            "missed": self.missed,
            "failed": self.failed,
            "flagged": self.flagged,
        }


def status(conn: psycopg.Connection[Any], now: datetime) -> list[JobStatus]:
    """Every defined job with its last run, last success and flags, as of ``now``."""
    result: list[JobStatus] = []
    for job in JOBS:
        last = conn.execute(
            f"SELECT {_COLUMNS} FROM term.job_runs WHERE job = %s ORDER BY started_at DESC, id DESC LIMIT 1",
            (job.name,),
        ).fetchone()
        ok = conn.execute(
            f"SELECT {_COLUMNS} FROM term.job_runs WHERE job = %s AND outcome = 'succeeded'"
            " ORDER BY finished_at DESC LIMIT 1",
            (job.name,),
        ).fetchone()
        last_run = _run(last) if last else None
        success = _run(ok) if ok else None
        missed = success is None or success.finished_at is None or now - success.finished_at > job.deadline
        stuck = (
            last_run is not None
            and last_run.outcome == "running"
            and now - last_run.started_at > job.deadline
        )
        failed = (last_run is not None and last_run.outcome == "failed") or stuck
        result.append(JobStatus(job, last_run, success, missed, failed))
    return result


def get_run(conn: psycopg.Connection[Any], run_id: int) -> JobRun:
    row = conn.execute(f"SELECT {_COLUMNS} FROM term.job_runs WHERE id = %s", (run_id,)).fetchone()
    if row is None:
        raise LookupError(run_id)
    return _run(row)
