"""The operation log can only grow, and only through audit_api.append (REQUIREMENTS S-15, S-16, S-20).

The application roles (juki_pref, juki_fuhyo, juki_term) may EXECUTE the append function and
nothing else on the log: no INSERT, UPDATE, DELETE or TRUNCATE, no touching the chain head, no
calling the internal functions. juki_term alone may read the log (the review page, S-17).
"""

from __future__ import annotations

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.services.access.actor import Function, Outcome
from juki.services.audit.checkpoints import scan_log
from juki.services.audit.operation_log import record_operation
from juki.store.db import Database
from tests.services.audit.support import actor, append_many, connect_as

ROLES = ("juki_pref", "juki_fuhyo", "juki_term")
Z32 = "decode(repeat('00', 32), 'hex')"
WRITES = (
    "INSERT INTO audit.op_log (seq, at, function, file, outcome, prev_hash, row_hash) "
    f"VALUES (99, now(), 'search', 'pref', 'allow', {Z32}, {Z32})",
    "UPDATE audit.op_log SET target = 'x' WHERE seq = 1",
    "DELETE FROM audit.op_log WHERE seq = 1",
    "TRUNCATE audit.op_log",
    "UPDATE audit.chain_head SET last_seq = 0",
    "SELECT * FROM audit.chain_head",
    "SELECT audit.enc('x')",
    "SELECT audit.canonical_bytes(1, now(), 1, 'a', 1, 'b', 'c', 'd', 'e', 'f', 'g', NULL)",
)


@pytest.mark.parametrize("role", ROLES)
def test_S15_application_roles_append_through_the_function(db: Database, role: str) -> None:
    """S-15/S-16: every server role (File 1, File 2, terminals) can write its log rows."""
    with connect_as(db, role) as conn:
        seq = record_operation(
            conn, actor(), function=Function.SEARCH, file=FileKind.PREF, outcome=Outcome.ALLOW
        )
        conn.commit()
    assert seq == 1


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("statement", WRITES)
def test_S15_application_roles_cannot_change_the_log(db: Database, role: str, statement: str) -> None:
    """S-15/S-20: no application role can insert, rewrite, delete or truncate log rows, nor move the
    chain head."""
    append_many(db, 2)
    with connect_as(db, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    with db.connect() as conn:
        assert scan_log(conn).findings == []
        assert conn.execute("SELECT count(*) FROM audit.op_log").fetchone() == (2,)


@pytest.mark.parametrize("role", ("juki_pref", "juki_fuhyo"))
def test_S17_server_roles_cannot_read_the_log(db: Database, role: str) -> None:
    """The log names who looked at whom: the server roles write it but cannot read it."""
    with connect_as(db, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM audit.op_log LIMIT 1")


def test_S17_terminal_role_reads_the_log_for_review(db: Database) -> None:
    """S-17: the terminal application's role reads the log (review page), and only reads it."""
    append_many(db, 3)
    with connect_as(db, "juki_term") as conn:
        assert conn.execute("SELECT count(*) FROM audit.op_log").fetchone() == (3,)


def test_S15_the_log_owner_cannot_log_in_and_append_has_a_fixed_search_path(db: Database) -> None:
    """juki_audit is NOLOGIN; the SECURITY DEFINER function pins its search_path (no hijack through a
    schema the caller controls) and is executable by exactly the three application roles."""
    with db.connect() as conn:
        assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'juki_audit'").fetchone() == (
            False,
        )
        row = conn.execute(
            "SELECT p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'audit_api' AND p.proname = 'append'"
        ).fetchone()
        assert row is not None
        assert row[0] is True and row[2] == "juki_audit"
        assert any(c.startswith("search_path=") for c in row[1])
        grantees = {
            r[0]
            for r in conn.execute(
                "SELECT grantee FROM information_schema.routine_privileges "
                "WHERE routine_schema = 'audit_api' AND routine_name = 'append' AND privilege_type = 'EXECUTE'"
            )
        }
        assert grantees - {"juki_audit"} == set(ROLES)
        table_grantees = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                "WHERE table_schema = 'audit' AND grantee <> 'juki_audit'"
            )
        }
        assert table_grantees == {("juki_term", "SELECT")}
