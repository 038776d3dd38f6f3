"""Retention of what bulk provision leaves behind (issue 11 gap 2; S-23, REC-3, R-05, R-06): finished jobs
and their exchange records, the server's result files and the line-linkage folders are purged by the one
retention job on the right day and not before (the clock is moved, never waited for)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.services.access.actor import Actor
from juki.services.operations.retention import RETENTION, kind_named, purge_kind
from juki.services.provision import retention
from juki.services.provision.bulk import service
from juki.store.db import Database
from tests.services.access.support import Conn, System
from tests.services.provision.bulk.support import (
    MIXED_ROWS,
    count,
    population,
    request,
    requester_actor,
    store_of,
)

PREF = FileKind.PREF
JST = ZoneInfo("Asia/Tokyo")


def _submit(pref_conn: Conn, settings: Settings, actor: Actor, *, approval_rows: int = 10_000) -> int:
    job = service.submit_at_terminal(
        pref_conn, actor, PREF, requester_code="koan", task_code="unten-menkyo",
        chunks=[request(*(row for row, _ in MIXED_ROWS))], file_name="irai.csv", store=store_of(settings),
        approval_rows=approval_rows,
    )  # fmt: skip
    return job.id


def test_S23_REC3_finished_bulk_jobs_and_exchanges_go_seven_years_after_the_job_and_not_before(
    db: Database, conn: Conn, pref_conn: Conn, settings: Settings, system: System
) -> None:
    """S-23, REC-3: a done job and its exchange records are kept seven years from the day it was processed
    (Japan time); as of the day before that they are all there, as of that day they are gone. A job that
    still waits for its head's approval is never purged, however old; the server role still cannot delete
    an exchange record itself."""
    population(db)
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    done = _submit(pref_conn, settings, actor)
    service.fetch_result(pref_conn, actor, PREF, done, store_of(settings))
    waiting = _submit(pref_conn, settings, actor, approval_rows=1)
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_exchange WHERE job_id = %s", done) == 2
    # Processed ten days more than seven years ago (so the server's own clock agrees it is past).
    processed = datetime.now(JST).date() - timedelta(days=10)
    processed = processed.replace(year=processed.year - 7)
    at = datetime(processed.year, processed.month, processed.day, 10, tzinfo=JST)
    pref_conn.execute("UPDATE pref.bulk_job SET processed_at = %s WHERE id = %s", (at, done))
    pref_conn.execute("UPDATE pref.bulk_job SET submitted_at = %s WHERE id = %s", (at, waiting))
    first_gone = processed.replace(year=processed.year + 7)
    kind = kind_named("pref_bulk_records")
    assert kind.period == "7年" and "S-23" in kind.requirement
    assert purge_kind(db, kind, first_gone - timedelta(days=1)) == 0
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_job WHERE id = %s", done) == 1
    assert purge_kind(db, kind, first_gone) == 3  # two exchanges and the job
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_job WHERE id = %s", done) == 0
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_exchange WHERE job_id = %s", done) == 0
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_job WHERE id = %s", waiting) == 1
    # A later day than the server's clock purges nothing younger than seven years by that clock.
    fresh = _submit(pref_conn, settings, actor)
    assert purge_kind(db, kind, date.today() + timedelta(days=3650)) == 0
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_job WHERE id = %s", fresh) == 1


def _written(path: Path, day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=JST).timestamp()
    os.utime(path, (moment, moment))


def test_R05_R06_result_files_on_the_server_go_after_their_period_and_not_before(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R-05, R-06 (a File 2 result may carry a 個人番号): a result file written on day D is kept through
    D + 29 and deleted by the retention job on D + 30 (JUKI_BULK_RESULT_KEEP_DAYS, 30); a partial file a
    crash left goes the same way; the period can never reach a year."""
    monkeypatch.delenv("JUKI_BULK_RESULT_KEEP_DAYS", raising=False)
    population(db)
    job = _submit(
        pref_conn, settings, requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    )
    result = store_of(settings).path(PREF, job)
    leftover = store_of(settings).part_path(PREF, job + 1)
    leftover.write_bytes(b"partial")
    day = date(2026, 1, 10)
    _written(result, day)
    _written(leftover, day)
    kind = kind_named("bulk_result_files")
    assert purge_kind(db, kind, day + timedelta(days=29)) == 0
    assert result.exists() and leftover.exists()
    assert purge_kind(db, kind, day + timedelta(days=30)) == 2
    assert not result.exists() and not leftover.exists()
    assert retention.result_keep_days({"JUKI_BULK_RESULT_KEEP_DAYS": "400"}) == 364


def test_R05_S33_line_folders_are_purged_by_the_job_and_by_the_agent_keeping_waiting_notes(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-33, R-05: in a line-linkage folder the results, error notes and sent/refused request copies go on
    D + 30 and not before — by the retention job for the folders of JUKI_LINE_FOLDERS, by the same function
    the agent runs on each pass; a ``.waiting.json`` (a job not yet answered) is kept."""
    monkeypatch.delenv("JUKI_BULK_RESULT_KEEP_DAYS", raising=False)
    folder = tmp_path / "zeimu"
    (folder / "result").mkdir(parents=True)
    (folder / "request" / ".sent").mkdir(parents=True)
    (folder / "request" / ".refused").mkdir(parents=True)
    day = date(2026, 3, 1)
    files = [
        folder / "result" / "a.result.csv",
        folder / "result" / "b.error.json",
        folder / "request" / ".sent" / "7-a.csv",
        folder / "request" / ".refused" / "b.csv",
    ]
    waiting = folder / "result" / "c.waiting.json"
    for path in (*files, waiting):
        path.write_text("x")
        _written(path, day)
    monkeypatch.setenv("JUKI_LINE_FOLDERS", str(folder))
    kind = kind_named("line_folder_files")
    assert purge_kind(db, kind, day + timedelta(days=29)) == 0
    assert all(p.exists() for p in files)
    assert purge_kind(db, kind, day + timedelta(days=30)) == len(files)
    assert not any(p.exists() for p in files) and waiting.exists()
    # The agent's own pass uses the same function on its folder.
    again = folder / "result" / "d.result.csv"
    again.write_text("x")
    _written(again, day)
    assert retention.purge_line_folder(folder, day + timedelta(days=30), 30) == 1


def test_the_new_kinds_are_in_the_one_retention_table() -> None:
    names = {k.kind for k in RETENTION}
    assert {"pref_bulk_records", "fuhyo_bulk_records", "bulk_result_files", "line_folder_files"} <= names
