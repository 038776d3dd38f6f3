"""The one retention table and its purge job, with a moved clock (issue 13 item 4; R-02..R-09, S-51).

For every kind the table purges, a record is made, and the purge run as of the last day of its
period keeps it while the run of the next day removes it. A kind added to the table without a case
here fails `test_every_purged_kind_has_a_moved_clock_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from juki.services.operations import backup as backups
from juki.services.operations.context import JobFailed
from juki.services.operations.restore import verify_backup
from juki.services.operations.retention import RETENTION, kind_named, purge_all, purge_kind
from juki.store.db import Database
from tests.factories import notification
from tests.services.operations.support import T0, some_persons, with_keys
from tests.services.registry.test_ledger import apply, born

#: A seeder makes one record of its kind and returns (the last day it must survive, a count query).
Seeder = Callable[[Database], tuple[date, str]]


def _one(db: Database, sql: str, *args: Any) -> Any:
    with db.connect() as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return row[0]


def _pref_history(db: Database) -> tuple[date, str]:
    some_persons(db, first=710, count=1)
    return _one(
        db, "SELECT max(retain_until) FROM pref.identity_history"
    ), "SELECT count(*) FROM pref.identity_history"


def _pref_ended(db: Database) -> tuple[date, str]:
    code = born(db, 720)
    apply(db, notification("pref", "death", code, change_date="2026-10-02"))
    until = _one(db, "SELECT retain_until FROM pref.identity_current WHERE juminhyo_code = %s", code)
    return until, "SELECT count(*) FROM pref.identity_current WHERE status = 'ended'"


def _temporary_my_number(db: Database) -> tuple[date, str]:
    expires = _one(
        db,
        "INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, expires_at)"
        " VALUES ('12345678901', '123456789018', 'test', 'req-1', now() + interval '30 days') RETURNING expires_at",
    )
    # Expiring during day D: still there when the purge runs as of D, gone as of D + 1.
    return expires.astimezone(UTC).date(), "SELECT count(*) FROM fuhyo_tmp.my_number_stash"


def _jlis(schema: str) -> Seeder:
    def seed(db: Database) -> tuple[date, str]:
        started = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
        with db.connect() as conn:
            conn.execute(
                f"INSERT INTO {schema}.jlis_query_log (started_at, finished_at, peer, kind, keys_sha256,"
                " operator_id, terminal_id, function, outcome) VALUES (%s, %s, 'https://x', 'juminhyo_code',"
                " %s, 'op', 'term', 'F1-5', 'found')",
                (started, started, b"\x00" * 32),
            )
            conn.commit()
        return date(2033, 3, 10), f"SELECT count(*) FROM {schema}.jlis_query_log"

    return seed


def _reconciliation(schema: str) -> Seeder:
    def seed(db: Database) -> tuple[date, str]:
        finished = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
        with db.connect() as conn:
            run = conn.execute(
                f"INSERT INTO {schema}.reconciliation_run (municipality_code, scope_codes, requested_by,"
                " started_at, finished_at, status, uploaded_rows, counts) VALUES ('141011', ARRAY['141011'],"
                " 'cs:141011', %s, %s, 'completed', 1, '{}') RETURNING id",
                (finished, finished),
            ).fetchone()
            assert run is not None
            conn.execute(
                f"INSERT INTO {schema}.reconciliation_diff (run_id, seq, juminhyo_code, kind)"
                " VALUES (%s, 1, '12345678901', 'missing_on_server')",
                (run[0],),
            )
            conn.commit()
        return date(2027, 4, 1), f"SELECT count(*) FROM {schema}.reconciliation_run"

    return seed


def _result_sets(schema: str) -> Seeder:
    def seed(db: Database) -> tuple[date, str]:
        expires = _one(
            db,
            f"INSERT INTO {schema}.search_result_sets (id, session_id, operator_id, expires_at, conditions, codes)"
            " VALUES ('abcdefghijklmnopqrstuv', 's', 1, now() + interval '12 hours', '{}', ARRAY['x'])"
            " RETURNING expires_at",
        )
        return expires.astimezone(UTC).date(), f"SELECT count(*) FROM {schema}.search_result_sets"

    return seed


def _backups(kind: str) -> Seeder:
    def seed(db: Database) -> tuple[date, str]:
        ops = with_keys(db)
        made = backups.create_backup(db, db.settings, ops, kind=kind, now=T0)
        until = _one(db, "SELECT retain_until FROM term.backups WHERE file_name = %s", made.stem)
        assert (ops.backup_dir / f"{made.stem}.dump.age").exists()
        return until, f"SELECT count(*) FROM term.backups WHERE kind = '{kind}' AND purged_at IS NULL"

    return seed


SEEDERS: dict[str, Seeder] = {
    "pref_history": _pref_history,
    "pref_ended": _pref_ended,
    "temporary_my_number": _temporary_my_number,
    "pref_jlis_records": _jlis("pref"),
    "fuhyo_jlis_records": _jlis("fuhyo"),
    "pref_reconciliation": _reconciliation("pref"),
    "fuhyo_reconciliation": _reconciliation("fuhyo"),
    "pref_search_results": _result_sets("pref"),
    "fuhyo_search_results": _result_sets("fuhyo"),
    "oplog_backups": _backups("oplog"),
    "backups": _backups("full"),
}
#: Kinds registered by other packages (provision records R-08, disclosure, inquiries …) are tested
#: by their owners' purge_expired tests; here they get the registry checks below.
OWNED_HERE = set(SEEDERS)


def test_every_purged_kind_has_a_moved_clock_case() -> None:
    """R-04, S-51: the table lists every kind with its period and starting date; each kind of main
    that is purged has a case below."""
    for kind in RETENTION:
        assert kind.label and kind.period and kind.counts_from and kind.requirement
        if kind.purge is not None:
            assert callable(kind.resolve())
    main_kinds = {k.kind for k in RETENTION if k.purge and k.purge.startswith("juki.services.operations.")}
    assert main_kinds <= OWNED_HERE


@pytest.mark.parametrize("name", sorted(SEEDERS))
def test_R02_R03_R05_R06_R09_each_kind_is_purged_on_the_day_after_its_period_and_not_before(
    db: Database, name: str
) -> None:
    """R-02/R-03 (150 years), R-05/R-06 (temporary 個人番号), R-09/S-19 (operation-log backups),
    J-LIS records (7 years), reconciliation results (1 year), result sets, backups: the purge as
    of the last day keeps the record; as of the next day it is gone."""
    last_day, count = SEEDERS[name](db)
    kind = kind_named(name)
    before = _one(db, count)
    assert before >= 1
    assert purge_kind(db, kind, last_day) == 0
    assert _one(db, count) == before
    assert purge_kind(db, kind, last_day + timedelta(days=1)) >= 1
    assert _one(db, count) == before - 1


def test_R08_provision_records_are_kept_seven_years_in_the_registry(db: Database) -> None:
    """R-08: the provision records' rows of the retention table  say 7 years and purge nothing that is not past it."""
    kinds = [k for k in RETENTION if "R-08" in k.requirement]
    assert {k.kind for k in kinds} == {"pref_provision_records", "fuhyo_provision_records"}
    for kind in kinds:
        assert kind.period.startswith("7年")
        assert kind.resolve() is not None
        assert purge_kind(db, kind, date(2000, 1, 1)) == 0


def test_purge_all_reports_every_kind_and_leaves_fresh_records(db: Database) -> None:
    some_persons(db, first=730, count=2)
    report = purge_all(db, T0.date())
    assert set(report) == {k.kind for k in RETENTION if k.purge}
    assert all(value == 0 for value in report.values())


def test_R06_purged_data_survives_only_in_a_backup_until_that_backup_is_past_retention_and_gone(
    db: Database,
) -> None:
    """R-06: after the purge the temporary 個人番号 is gone from the database; the backup taken
    before still holds it (encrypted) until the backup's own period ends — then the backup purge
    deletes its files and nothing can restore the number any more."""
    last_day, count = _temporary_my_number(db)
    ops = with_keys(db)
    made = backups.create_backup(db, db.settings, ops, kind="full", now=datetime.now(UTC))
    assert made.size_bytes > 0
    manifest = backups.read_manifest(ops.backup_dir, made.stem)
    assert manifest["tables"]["fuhyo_tmp.my_number_stash"]["rows"] == 1
    purge_kind(db, kind_named("temporary_my_number"), last_day + timedelta(days=1))
    assert _one(db, count) == 0
    backup_until = _one(db, "SELECT retain_until FROM term.backups WHERE file_name = %s", made.stem)
    purge_kind(db, kind_named("backups"), backup_until + timedelta(days=1))
    assert not list(ops.backup_dir.glob(f"{made.stem}*"))
    assert db.cluster is not None
    with pytest.raises(JobFailed) as gone:
        verify_backup(db.cluster.binaries, ops, made.stem)
    assert gone.value.code == "E_RESTORE_FAILED"
    with db.connect() as conn:
        assert conn.execute(
            "SELECT purged_at IS NOT NULL FROM term.backups WHERE file_name = %s", (made.stem,)
        ).fetchone() == (True,)


def test_a_failing_kind_does_not_stop_the_others(db: Database) -> None:
    with db.connect() as conn:
        conn.execute("REVOKE DELETE ON pref.search_result_sets FROM juki_pref")
        conn.commit()
    report = purge_all(db, T0.date())
    assert str(report["pref_search_results"]).startswith("E_JOB_FAILED")
    assert report["fuhyo_search_results"] == 0
    with pytest.raises(psycopg.Error):
        purge_kind(db, kind_named("pref_search_results"), T0.date())


def test_S53_regular_requests_are_purged_with_the_results_they_asked_for(db: Database) -> None:
    """A regular request (migration 0049) is kept like the reconciliation results: a year after its
    answer, or after its due date when never answered; an open request within its time stays."""
    last_day, count = _reconciliation("pref")(db)
    answered_at = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    with db.connect() as conn:
        run_id = _one(db, "SELECT max(id) FROM pref.reconciliation_run")
        conn.execute(
            "INSERT INTO pref.reconciliation_request (municipality_code, requested_at, due_at, status,"
            " answered_at, answered_run_id) VALUES ('141011', %s, %s, 'answered', %s, %s),"
            " ('141020', %s, %s, 'open', NULL, NULL), ('141038', %s, %s, 'open', NULL, NULL)",
            (
                answered_at - timedelta(days=3), answered_at + timedelta(days=11), answered_at, run_id,
                answered_at - timedelta(days=20), answered_at - timedelta(days=6),  # never answered
                datetime(2027, 3, 30, tzinfo=UTC), datetime(2027, 4, 13, tzinfo=UTC),  # still open, in time
            ),
        )  # fmt: skip
        conn.commit()
    requests = "SELECT string_agg(municipality_code, ',' ORDER BY municipality_code) FROM pref.reconciliation_request"
    kind = kind_named("pref_reconciliation")
    purge_kind(db, kind, last_day - timedelta(days=6))
    assert _one(db, requests) == "141011,141020,141038"
    purge_kind(db, kind, last_day - timedelta(days=5))  # a year after the unanswered one's due date
    assert _one(db, requests) == "141011,141038"
    purge_kind(db, kind, last_day + timedelta(days=1))  # a year after the answer, with its run
    assert _one(db, requests) == "141038" and _one(db, count) == 0
