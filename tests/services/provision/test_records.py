"""Provision records (REC-1, S-21, S-22, R-08, REC-10; S-55's source): the contract p-bulk and
d-disclosure build on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.services.operations.retention import purge_all
from juki.services.provision import records
from juki.services.provision.catalog import load_catalog
from juki.services.provision.records import Basis
from juki.store.db import Database
from tests.services.access.support import Conn, System

CODE = "12345678906"
OTHER = "34567890123"


def _basis(conn: Conn, file: FileKind = FileKind.PREF) -> Basis:
    catalog = load_catalog(conn)
    task = catalog.task("kyoiku", "tokubetsu-shien")
    assert task is not None
    return Basis.of(task, file, catalog.version)


def test_S21_S22_every_answer_is_recorded_provided_or_refused(pref_conn: Conn, system: System) -> None:
    """S-21: a provision with operator, terminal, requester, legal basis, items; S-22: a refusal
    where processing ran is recorded too; provisions_of returns both, oldest first."""
    basis = _basis(pref_conn)
    with pref_conn.transaction():
        given = records.record_provision(
            pref_conn,
            FileKind.PREF,
            system.admin,
            basis,
            key_type=KeyType.BASIC4,
            method=Method.SCREEN,
            result=ResultCode.MATCH,
            juminhyo_code=CODE,
            items=("name_kanji", "address"),
            source="local",
            requester_ref="教委-2026-001",
            op_log_seq=41,
        )
        refused = records.record_provision(
            pref_conn,
            FileKind.PREF,
            system.admin,
            basis,
            key_type=KeyType.RESIDENT_CODE,
            method=Method.SCREEN,
            result=ResultCode.KEY_NOT_ALLOWED,
            juminhyo_code=CODE,
            items=("name_kanji",),
            reason="key",
        )
    assert given < refused
    rows = records.provisions_of(pref_conn, FileKind.PREF, CODE)
    assert [(r.result_code, r.items, r.provided) for r in rows] == [
        ("P_MATCH", ["name_kanji", "address"], True),
        ("P_KEY_NOT_ALLOWED", [], False),  # a refusal gives nothing, whatever the caller passed
    ]
    first = rows[0]
    assert (first.operator_login, first.terminal_name) == ("admin1", system.terminal.name)
    assert (first.requester_code, first.requester_name, first.requester_kind) == (
        "kyoiku",
        "神奈川県教育委員会",
        "organ",
    )
    assert first.legal_basis.startswith("住基法第30条の15第2項第1号")
    assert (first.key_type, first.method, first.source, first.op_log_seq) == ("basic4", "screen", "local", 41)
    assert first.requester_ref == "教委-2026-001"
    assert first.retain_until == first.at.date().replace(year=first.at.year + 7) or (
        first.retain_until - first.at.date() >= timedelta(days=7 * 365)
    )
    assert records.provisions_of(pref_conn, FileKind.PREF, OTHER) == []
    later = records.provisions_of(pref_conn, FileKind.PREF, CODE, since=first.at + timedelta(days=1))
    assert later == []


def test_R08_records_are_append_only_for_the_server_roles(
    pref_conn: Conn, fuhyo_conn: Conn, system: System
) -> None:
    """R-08 / S-35: the file role can neither change nor delete a record, nor read the other file's."""
    records.record_provision(
        pref_conn,
        FileKind.PREF,
        system.admin,
        _basis(pref_conn),
        key_type=KeyType.BASIC4,
        method=Method.SCREEN,
        result=ResultCode.NOT_FOUND,
    )
    for statement in (
        "UPDATE pref.provision_record SET result_code = 'P_MATCH'",
        "DELETE FROM pref.provision_record",
        "TRUNCATE pref.provision_record",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pref_conn.execute(statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fuhyo_conn.execute("SELECT * FROM pref.provision_record")


def test_R08_purge_after_seven_years_with_a_moved_clock(
    db: Database, pref_conn: Conn, admin_conn: Conn, system: System
) -> None:
    """R-08: a record is kept seven years, then purged; a caller naming a far future day cannot purge a
    younger record (the database trusts only its own clock). The clock is moved by ageing the rows."""
    basis = _basis(pref_conn)
    for code in (CODE, OTHER):
        records.record_provision(
            pref_conn,
            FileKind.PREF,
            system.admin,
            basis,
            key_type=KeyType.BASIC4,
            method=Method.SCREEN,
            result=ResultCode.MATCH,
            juminhyo_code=code,
            items=("name_kanji",),
        )
    assert records.purge_expired(pref_conn, FileKind.PREF, date(2100, 1, 1)) == 0
    # CODE's record was made seven years and a day ago; OTHER's six years and 364 days ago.
    admin_conn.execute(
        "UPDATE pref.provision_record SET at = at - interval '7 years 1 day', "
        "retain_until = retain_until - interval '7 years 1 day' WHERE juminhyo_code = %s",
        (CODE,),
    )
    admin_conn.execute(
        "UPDATE pref.provision_record SET at = at - interval '6 years 364 days', "
        "retain_until = retain_until - interval '6 years 364 days' WHERE juminhyo_code = %s",
        (OTHER,),
    )
    # The retention table's purge (the job, `juki purge`) applies R-08 with the other rules.
    assert purge_all(db, datetime.now(UTC).date())["pref_provision_records"] == 1
    assert records.purge_expired(pref_conn, FileKind.PREF) == 0
    assert records.provisions_of(pref_conn, FileKind.PREF, CODE) == []
    assert len(records.provisions_of(pref_conn, FileKind.PREF, OTHER)) == 1


def test_bulk_records_in_one_statement_and_counts_per_month(fuhyo_conn: Conn, system: System) -> None:
    """F1-2b contract: record_many_from writes one record per row of a TEMP table in one INSERT … SELECT;
    counts give person-answers per month, requester, task and result (REC-10)."""
    catalog = load_catalog(fuhyo_conn)
    task = catalog.task("zeimu", "kenzei-kokugai")
    assert task is not None
    basis = Basis.of(task, FileKind.FUHYO, catalog.version)
    with fuhyo_conn.transaction():
        fuhyo_conn.execute(
            "CREATE TEMP TABLE bulk_answers (" + ", ".join(records.BULK_SOURCE_COLUMNS) + ") ON COMMIT DROP"
        )
        fuhyo_conn.execute(
            "INSERT INTO bulk_answers VALUES "
            "(%s, 'basic4', '{name_kanji,address}', 'P_MATCH', '', 'line-1', false, 'local'),"
            "(NULL, 'basic4', '{name_kanji}', 'P_NOT_FOUND', '', 'line-2', false, NULL),"
            "(NULL, 'basic4', NULL, 'P_AMBIGUOUS', '', 'line-3', NULL, NULL)",
            (CODE,),
        )
        written = records.record_many_from(
            fuhyo_conn,
            FileKind.FUHYO,
            "bulk_answers",
            system.admin,
            basis,
            method=Method.MEDIA,
            bulk_job_id=7,
            op_log_seq=None,
        )
    assert written == 3
    rows = records.provisions_of(fuhyo_conn, FileKind.FUHYO, CODE)
    assert [(r.items, r.bulk_job_id, r.method, r.requester_ref) for r in rows] == [
        (["name_kanji", "address"], 7, "media", "line-1")
    ]
    today = date.today()
    got = records.counts(fuhyo_conn, FileKind.FUHYO, (today - timedelta(days=31), today))
    assert [(c.month, c.requester_code, c.task_code, c.result_code, c.count) for c in got] == [
        (today.replace(day=1), "zeimu", "kenzei-kokugai", code, 1)
        for code in ("P_AMBIGUOUS", "P_MATCH", "P_NOT_FOUND")
    ]
