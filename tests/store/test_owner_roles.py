"""Hardening item 8: the servers' login roles own nothing, so they cannot change the schema that guards
them (REQUIREMENTS S-07..S-09, S-35..S-37, R-05, R-06). Each bypass the issue found is tried again, as
each login role."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from juki.services.operations.retention import purge_all
from juki.store.db import Database, DbRole

from .test_separation import ABROAD, STASH, _population

LOGIN_ROLES = (DbRole.PREF, DbRole.FUHYO, DbRole.TERM)
SCHEMAS = ("pref", "pref_api", "fuhyo", "fuhyo_tmp", "term", "audit", "audit_api", "public")


def _refused(db: Database, role: DbRole, statement: str) -> None:
    with db.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_hardening_8_S35_login_roles_own_no_object(db: Database) -> None:
    """Every schema, table, sequence, view and function belongs to a NOLOGIN role (or the administrator)."""
    with db.connect() as conn:
        owned = conn.execute(
            """SELECT 'schema ' || nspname FROM pg_namespace WHERE pg_get_userbyid(nspowner) = ANY(%(r)s)
               UNION ALL
               SELECT 'relation ' || oid::regclass::text FROM pg_class WHERE pg_get_userbyid(relowner) = ANY(%(r)s)
               UNION ALL
               SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE pg_get_userbyid(proowner) = ANY(%(r)s)
               UNION ALL
               SELECT 'type ' || oid::regtype::text FROM pg_type WHERE pg_get_userbyid(typowner) = ANY(%(r)s)""",
            {"r": [r.value for r in LOGIN_ROLES]},
        ).fetchall()
        owners = conn.execute(
            """SELECT n.nspname, r.rolname, r.rolcanlogin FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
                WHERE n.nspname = ANY(%s) ORDER BY 1""",
            (["pref", "pref_api", "fuhyo", "fuhyo_tmp", "term"],),
        ).fetchall()
    assert owned == []
    assert owners == [
        ("fuhyo", "juki_fuhyo_owner", False),
        ("fuhyo_tmp", "juki_fuhyo_owner", False),
        ("pref", "juki_pref_owner", False),
        ("pref_api", "juki_bridge", False),
        ("term", "juki_term_owner", False),
    ]


def test_hardening_8_S35_no_login_role_can_create_in_any_schema(db: Database) -> None:
    """No CREATE TABLE (nor CREATE TABLE … AS, VIEW or FUNCTION) anywhere, for any login role."""
    for role in LOGIN_ROLES:
        for schema in SCHEMAS:
            _refused(db, role, f"CREATE TABLE {schema}.harvest (x int)")
            _refused(db, role, f"CREATE VIEW {schema}.harvest AS SELECT 1 AS x")
            _refused(db, role, f"CREATE FUNCTION {schema}.harvest() RETURNS int LANGUAGE sql AS 'SELECT 1'")


def test_hardening_8_S35_fuhyo_role_cannot_bypass_the_temporary_areas_expiry(db: Database) -> None:
    """The issue's bypasses of R-05/R-06: a row created 50 years ahead, dropping the < 1 year CHECK, dropping or
    disabling the purge trigger. All refused; and even the administrator's insert gets the server's time."""
    stash = "fuhyo_tmp.my_number_stash"
    for statement in (
        f"""INSERT INTO {stash} (juminhyo_code, my_number, purpose, request_ref, created_at, expires_at)
            VALUES ('{ABROAD}', '123456789018', 'bango-overseas', 'r', now() + interval '50 years',
                    now() + interval '50 years 1 month')""",
        f"UPDATE {stash} SET expires_at = now() + interval '50 years'",
        f"ALTER TABLE {stash} DROP CONSTRAINT my_number_stash_check",
        f"ALTER TABLE {stash} DISABLE TRIGGER my_number_stash_purge",
        f"ALTER TABLE {stash} DISABLE TRIGGER ALL",
        f"DROP TRIGGER my_number_stash_purge ON {stash}",
        f"DROP TRIGGER my_number_stash_created_at ON {stash}",
        f"DROP TABLE {stash}",
        "CREATE OR REPLACE FUNCTION fuhyo_tmp.purge_expired() RETURNS integer LANGUAGE sql AS 'SELECT 0'",
        "DROP FUNCTION fuhyo_tmp.purge_expired()",
    ):
        for role in LOGIN_ROLES:
            _refused(db, role, statement)
    with db.connect() as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            f"""INSERT INTO {stash} (juminhyo_code, my_number, purpose, request_ref, created_at, expires_at)
                VALUES ('{ABROAD}', '123456789018', 'bango-overseas', 'r', now() + interval '50 years',
                        now() + interval '50 years 1 month')"""
        )
    # What the fuhyo role may do: purge (as the area's owner) and delete a number early.
    _population(db)
    with db.connect() as conn:  # the bridge's insert (migration 0021 releases only for a logged request)
        conn.execute(STASH, (ABROAD, "r1"))
        conn.commit()
    assert purge_all(db, datetime.now(UTC).date())["temporary_my_number"] == 0
    with db.connect(DbRole.FUHYO) as conn:
        assert conn.execute(f"DELETE FROM {stash} WHERE request_ref = 'r1'").rowcount == 1
        conn.commit()


def test_hardening_8_S35_terminal_role_cannot_disable_the_rights_ledgers_append_only_trigger(
    db: Database,
) -> None:
    """The issue's bypass of S-08/S-09: the terminal role disabled the ledger's trigger and rewrote a row."""
    for table in ("rights_ledger", "rights_applications", "rights_decisions"):
        for statement in (
            f"ALTER TABLE term.{table} DISABLE TRIGGER {table}_append_only",
            f"ALTER TABLE term.{table} DISABLE TRIGGER ALL",
            f"DROP TRIGGER {table}_append_only ON term.{table}",
            f"ALTER TABLE term.{table} OWNER TO juki_term",
            f"UPDATE term.{table} SET {'note' if table == 'rights_decisions' else 'reason'} = 'x'",
            f"DELETE FROM term.{table}",
            f"TRUNCATE term.{table} CASCADE",
        ):
            for role in LOGIN_ROLES:
                _refused(db, role, statement)
    _refused(
        db,
        DbRole.TERM,
        "CREATE OR REPLACE FUNCTION term.refuse_rewrite() RETURNS trigger LANGUAGE plpgsql "
        "AS 'BEGIN RETURN NEW; END'",
    )


def test_hardening_8_S35_file_roles_cannot_change_their_files_schema_or_the_bridge(db: Database) -> None:
    """No DDL on the files either: constraints, indexes, the 個人番号 bridge, its catalog and its log."""
    for role, statement in (
        (DbRole.PREF, "ALTER TABLE pref.identity_current DROP CONSTRAINT identity_current_check"),
        (DbRole.PREF, "ALTER TABLE pref.identity_current ADD COLUMN harvest text"),
        (DbRole.PREF, "DROP INDEX pref.identity_current_pkey"),
        (DbRole.PREF, "TRUNCATE pref.identity_current CASCADE"),
        (DbRole.PREF, "INSERT INTO pref.my_number_purpose (code, description) VALUES ('curiosity', 'x')"),
        (DbRole.PREF, "UPDATE pref.my_number_purpose SET keep_for = interval '11 months'"),
        (DbRole.PREF, "DELETE FROM pref.my_number_release_log"),
        (DbRole.FUHYO, "ALTER TABLE fuhyo.fuhyo_current DROP CONSTRAINT fuhyo_current_check"),
        (DbRole.FUHYO, "TRUNCATE fuhyo.fuhyo_current CASCADE"),
        (DbRole.FUHYO, "SELECT my_number FROM pref.identity_current"),
        (DbRole.FUHYO, "DROP FUNCTION pref_api.release_my_number(text, text, text)"),
        (
            DbRole.FUHYO,
            "CREATE OR REPLACE FUNCTION pref_api.release_my_number(a text, b text, c text) RETURNS boolean "
            "LANGUAGE sql AS 'SELECT true'",
        ),
    ):
        _refused(db, role, statement)
