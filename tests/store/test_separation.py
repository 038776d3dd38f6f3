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


def test_S37_bridge_returns_only_the_my_number_for_a_purpose_and_records_it(db: Database) -> None:
    """S-37: the fuhyo role gets exactly one 個人番号 for one 住民票コード, only for a 番号法 purpose;
    every call (released, refused, not found) is recorded."""
    with db.connect(DbRole.PREF) as conn:
        conn.execute(PERSON, ("12345678906", "123456789018", "present", None))
        conn.execute(PERSON, ("23456789010", "023456789013", "ended", "death"))
        conn.commit()
    with db.connect(DbRole.FUHYO) as conn:
        call = "SELECT pref_api.my_number_for(%s, %s)"
        assert conn.execute(call, ("12345678906", "bango-overseas")).fetchone() == ("123456789018",)
        assert conn.execute(call, ("12345678906", "curiosity")).fetchone() == (None,)
        assert conn.execute(call, ("99999999999", "bango-overseas")).fetchone() == (None,)
        # File 2 never receives a dead person's number.
        assert conn.execute(call, ("23456789010", "bango-overseas")).fetchone() == (None,)
        conn.commit()
    with db.connect(DbRole.PREF) as conn:
        rows = conn.execute(
            "SELECT called_by, juminhyo_code, purpose, outcome FROM pref.my_number_release_log ORDER BY id"
        ).fetchall()
    assert rows == [
        ("juki_fuhyo", "12345678906", "bango-overseas", "released"),
        ("juki_fuhyo", "12345678906", "curiosity", "refused"),
        ("juki_fuhyo", "99999999999", "bango-overseas", "not_found"),
        ("juki_fuhyo", "23456789010", "bango-overseas", "not_found"),
    ]


def test_S36_temporary_my_numbers_live_apart_and_expire(db: Database) -> None:
    """S-36/R-05/R-06: the number goes to fuhyo_tmp with an expiry (< 1 year); expired rows are purged
    automatically and are never visible through the live view."""
    with db.connect(DbRole.FUHYO) as conn:
        conn.execute(
            """INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, created_at,
                 expires_at) VALUES ('12345678906', '123456789018', 'bango-overseas', 'r1',
                 now() - interval '2 days', now() - interval '1 day')"""
        )
        conn.execute(
            """INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref, expires_at)
               VALUES ('23456789010', '023456789013', 'bango-overseas', 'r2', now() + interval '7 days')"""
        )
        rows = conn.execute("SELECT juminhyo_code FROM fuhyo_tmp.my_number_stash").fetchall()
        assert rows == [("23456789010",)]  # the expired one was purged by the insert trigger
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                """INSERT INTO fuhyo_tmp.my_number_stash (juminhyo_code, my_number, purpose, request_ref,
                     expires_at) VALUES ('1', '123456789018', 'p', 'r3', now() + interval '2 years')"""
            )
    # No File 2 table can be joined to it by the pref role, and it is not in the fuhyo schema.
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'fuhyo' AND column_name = 'my_number'"
        ).fetchone()
        assert row == (0,)
