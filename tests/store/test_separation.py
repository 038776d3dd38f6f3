"""The two servers are enforced apart in the database (REQUIREMENTS S-35, S-36, S-37)."""

from __future__ import annotations

import psycopg
import pytest

from juki.store.db import Database, DbRole

PERSON = """INSERT INTO pref.identity_current (juminhyo_code, name_kanji, name_kana, birth_date, sex, address,
  my_number, change_reason, change_date, seion_kana, municipality_code, operator_id, terminal_id, notified_on,
  update_seq, status, end_kind)
VALUES (%s, '山田　花子', 'ヤマダ　ハナコ', '1980-01-01', '2', '神奈川県横浜市鶴見区', %s, 'birth', '1980-01-01',
  'ヤマダハナコ', '141011', 't', 't', '1980-01-02', 1, %s, %s)"""


def _tables(db: Database, schema: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'S')",
            (schema,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_S35_fuhyo_role_is_refused_on_every_pref_table(db: Database) -> None:
    """S-35/S-37: a connection as the fuhyo role cannot read, write or even see any File 1 table."""
    tables = _tables(db, "pref")
    assert {"identity_current", "identity_history", "notification_inbox", "outbox"} <= set(tables)
    for table in tables:
        for statement in (f"SELECT * FROM pref.{table} LIMIT 1", f"DELETE FROM pref.{table}"):
            with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_S35_pref_role_is_refused_on_every_fuhyo_table(db: Database) -> None:
    """S-35: the pref server role has no access to File 2 or the temporary 個人番号 area either."""
    for schema in ("fuhyo", "fuhyo_tmp"):
        tables = _tables(db, schema)
        assert tables
        for table in tables:
            with db.connect(DbRole.PREF) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {schema}.{table} LIMIT 1")


FUHYO_PERSON = """INSERT INTO fuhyo.fuhyo_current (juminhyo_code, name_kanji, name_kana, birth_date, sex, address,
  change_date, fuhyo_municipality_code, status, notification_kind, change_reason, notified_on, update_seq, end_kind)
VALUES (%s, '山田　花子', 'ヤマダ　ハナコ', '1980-01-01', '2', '', '2020-04-01', '141011', %s, '記載', 'abroad',
  '2020-04-02', 1, %s)"""

ABROAD, RESIDENT, NO_FUHYO, DEAD, NO_NUMBER = (
    "12345678906",
    "34567890123",
    "45678901234",
    "23456789010",
    "56789012345",
)
RELEASE = "SELECT pref_api.release_my_number(%s, %s, %s)"
RELEASE_FOR = "SELECT pref_api.release_my_number_for_provision(%s)"
#: What the bridge inserts (the administrator stands in for it in the temporary area's own tests).
STASH = (
    "INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, expires_at) "
    "VALUES (%s, '123456789018', 'bango-overseas', %s, now() + interval '30 days')"
)


def _population(db: Database) -> None:
    """A 国外転出者 (File 1 ended by removal, File 2 abroad), a present resident (File 2 domestic), a resident
    with no File 2 record, a dead person recorded abroad in File 2, and an abroad person without a number."""
    with db.connect(DbRole.PREF) as conn:
        conn.execute(PERSON, (ABROAD, "123456789018", "ended", "removed"))
        conn.execute(PERSON, (RESIDENT, "345678901236", "present", None))
        conn.execute(PERSON, (NO_FUHYO, "456789012349", "present", None))
        conn.execute(PERSON, (DEAD, "023456789013", "ended", "death"))
        conn.execute(PERSON, (NO_NUMBER, None, "ended", "removed"))
        conn.commit()
    with db.connect(DbRole.FUHYO) as conn:
        conn.execute(FUHYO_PERSON, (ABROAD, "abroad", None))
        conn.execute(FUHYO_PERSON, (RESIDENT, "domestic", None))
        conn.execute(FUHYO_PERSON, (DEAD, "abroad", None))
        conn.execute(FUHYO_PERSON, (NO_NUMBER, "abroad", None))
        conn.commit()


def _stash(db: Database) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT juminhyo_code, my_number, purpose, request_ref, expires_at - created_at, "
            "created_at = (SELECT max(called_at) FROM pref.my_number_release_log WHERE outcome = 'released') "
            "FROM fuhyo_tmp.my_number_stash ORDER BY id"
        ).fetchall()


def test_hardening_7_S37_the_fuhyo_role_can_no_longer_release_on_its_own_word(db: Database) -> None:
    """S-37/F2-2 (migration 0021): 0013's release_my_number(code, purpose, request_ref) trusted the caller's
    request reference; the fuhyo role may no longer execute it. Its replacement releases only against an
    operation-log row of a signed-in operator's request (tests/services/provision/test_my_number_addon.py);
    a request the fuhyo role makes up — a sequence number of no row, or of a row it wrote without a session —
    releases nothing, and each refusal is recorded with its reason."""
    _population(db)
    with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(RELEASE, (ABROAD, "bango-overseas", "req-1"))
    with db.connect(DbRole.FUHYO) as conn:
        system_row = conn.execute(
            "SELECT audit_api.append_system('bench', NULL, 'provision', 'fuhyo', 'allow', %s, "
            """'{"event": "my_number_request", "requester": "zeimu", "task": "kenzei-kokugai"}'::jsonb)""",
            (ABROAD,),
        ).fetchone()
        assert system_row is not None
        answers = [conn.execute(RELEASE_FOR, (seq,)).fetchone() for seq in (10**9, int(system_row[0]))]
        conn.commit()
    assert answers == [(False,), (False,)]
    assert _stash(db) == []
    with db.connect(DbRole.PREF) as conn:
        rows = conn.execute("SELECT outcome, reason FROM pref.my_number_release_log ORDER BY id").fetchall()
    assert rows == [("refused", "no_request"), ("refused", "request")]


def test_hardening_7_S37_the_harvesting_query_returns_no_number(db: Database) -> None:
    """The issue's harvest: as juki_fuhyo, the bridge over every File 2 record, kept by CREATE TABLE … AS.
    The number-returning function is gone, 0013's function is no longer executable, the provision bridge
    returns no number and releases nothing without a signed-in operator's logged request, and nothing can be
    kept in File 2's schema."""
    _population(db)
    with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute(
            "SELECT pref_api.my_number_for(juminhyo_code, 'bango-overseas') FROM fuhyo.fuhyo_current"
        )
    with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "SELECT pref_api.release_my_number(juminhyo_code, 'bango-overseas', 'harvest') FROM fuhyo.fuhyo_current"
        )
    with db.connect(DbRole.FUHYO) as conn:
        got = conn.execute(
            "SELECT pref_api.release_my_number_for_provision(s) FROM generate_series(1, 50) s"
        ).fetchall()
        conn.commit()
    assert set(got) == {(False,)}  # booleans only, and all false
    assert _stash(db) == []
    for harvest in (
        "CREATE TABLE fuhyo.harvest AS SELECT pref_api.release_my_number_for_provision(s) "
        "FROM generate_series(1, 5) s",
        "CREATE TABLE fuhyo.harvest AS SELECT * FROM fuhyo_tmp.my_number_live",
        "CREATE TABLE fuhyo_tmp.harvest AS SELECT * FROM fuhyo_tmp.my_number_live",
    ):
        with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(harvest)


def test_S36_temporary_my_numbers_live_apart_and_expire(db: Database) -> None:
    """S-36/R-05/R-06: released numbers expire (< 1 year); expired rows are purged automatically on the next
    release and by `juki purge`, and are never visible through the live view."""
    _population(db)
    with db.connect() as conn:
        conn.execute(STASH, (ABROAD, "r1"))
        conn.commit()
    with db.connect() as conn:  # age the row as only a superuser can (triggers off for this session)
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE fuhyo_tmp.my_number_stash SET created_at = now() - interval '2 days', "
            "expires_at = now() - interval '1 day'"
        )
        conn.commit()
    with db.connect(DbRole.FUHYO) as conn:
        assert conn.execute("SELECT count(*) FROM fuhyo_tmp.my_number_live").fetchone() == (0,)
    with db.connect() as conn:
        conn.execute(STASH, (ABROAD, "r2"))
        conn.commit()
    with db.connect(DbRole.FUHYO) as conn:
        rows = conn.execute("SELECT request_ref FROM fuhyo_tmp.my_number_stash").fetchall()
        assert rows == [("r2",)]  # the expired one was purged by the insert trigger
        conn.commit()
    # No File 2 table can be joined to it by the pref role, and it is not in the fuhyo schema.
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'fuhyo' AND column_name = 'my_number'"
        ).fetchone()
        assert row == (0,)
