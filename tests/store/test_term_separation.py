"""The terminal role and the two file roles are kept apart in the database (REQUIREMENTS S-02, S-07;
S-35..S-37 for the terminals): juki_term, which holds operators, credentials, sessions and rights,
cannot read any personal data, and the file roles cannot read credentials or sessions."""

from __future__ import annotations

import psycopg
import pytest

from juki.store.db import Database, DbRole


def _tables(db: Database, schema: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'S')",
            (schema,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_S07_term_role_cannot_read_personal_data(db: Database) -> None:
    """S-07/S-35: the terminal application's own role is refused on every File 1, File 2 and 個人番号 table."""
    for schema in ("pref", "fuhyo", "fuhyo_tmp"):
        tables = _tables(db, schema)
        assert tables, schema
        for table in tables:
            with db.connect(DbRole.TERM) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {schema}.{table} LIMIT 1")


def test_S02_file_roles_cannot_read_credentials_sessions_or_rights(db: Database) -> None:
    """S-02/S-07: password hashes, WebAuthn keys, sessions and the rights ledger are juki_term's alone."""
    tables = _tables(db, "term")
    expected = {
        "terminals",
        "operators",
        "password_credentials",
        "webauthn_credentials",
        "sign_in_state",
        "one_time_tokens",
        "sessions",
        "webauthn_challenges",
        "rights_applications",
        "rights_decisions",
        "rights_grants",
        "rights_ledger",
    }
    assert expected <= set(tables)
    for role in (DbRole.PREF, DbRole.FUHYO):
        for table in tables:
            for statement in (f"SELECT * FROM term.{table} LIMIT 1", f"DELETE FROM term.{table}"):
                with db.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)


def test_S07_term_role_owns_its_schema_and_nothing_more(db: Database) -> None:
    """S-07: juki_term is an ordinary login role (no superuser, no role or database creation), and since
    hardening item 8 it does not even own its schema: the NOLOGIN juki_term_owner does."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'juki_term'"
        ).fetchone()
        owner = conn.execute(
            "SELECT nspowner::regrole::text, r.rolcanlogin FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner "
            "WHERE nspname = 'term'"
        ).fetchone()
    assert row == (True, False, False, False)
    assert owner == ("juki_term_owner", False)
