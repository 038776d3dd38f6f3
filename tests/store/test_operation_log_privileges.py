"""The operation log can only grow, and only through audit_api.append (REQUIREMENTS S-15, S-16, S-20).

The application roles (juki_pref, juki_fuhyo, juki_term) may EXECUTE the append function and
nothing else on the log: no INSERT, UPDATE, DELETE or TRUNCATE, no touching the chain head, no
calling the internal functions. juki_term alone may read the log (the review page, S-17).
"""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access.actor import Function, Outcome
from juki.services.audit.checkpoints import scan_log
from juki.services.audit.operation_log import record_operation
from juki.store.db import Database
from tests.services.audit.support import actor, append_many, connect_as, rows

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
    who = actor(db)
    with connect_as(db, role) as conn:
        seq = record_operation(conn, who, function=Function.SEARCH, file=FileKind.PREF, outcome=Outcome.ALLOW)
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


@pytest.mark.parametrize("role", ROLES)
def test_hardening_9_S15_no_role_can_log_as_another_operator_or_terminal(db: Database, role: str) -> None:
    """Item 9: who and where of a row come from a live session the database knows, not from the
    caller. As each server role: the old call naming an operator and terminal no longer exists; a
    doctored Actor logs as the session it holds; an unknown or ended session secret is refused
    (T_SESSION_ENDED); only juki_term may log somebody not signed in, and only as *claimed*; and
    `juki audit verify` (scan_log) still passes."""
    admin = actor(db, "admin1", "代表端末")
    clerk = actor(db, "yamada", "T-001")
    with db.connect() as conn:  # admin1's session ends (sign-out)
        conn.execute(
            "UPDATE term.sessions SET ended_at = now(), end_reason = 'sign_out' WHERE id = %s",
            (int(admin.session_id or 0),),
        )
        conn.commit()
    with connect_as(db, role) as conn:
        conn.autocommit = True
        # The 0015 call that named anybody is gone.
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute(
                "SELECT audit_api.append(%s::bigint, 'admin1', %s::bigint, '代表端末', 's', 'view_record', "
                "'pref', 'allow', NULL, NULL::jsonb)",
                (admin.operator_id, admin.terminal_id),
            )
        # A secret nobody holds, and the secret of an ended session: refused with a stable code.
        for forged in (replace(admin, session_secret="not-a-session-secret"), admin):
            with pytest.raises(Refusal) as refused:
                record_operation(
                    conn, forged, function=Function.VIEW_RECORD, file=FileKind.PREF, outcome=Outcome.ALLOW
                )
            assert refused.value.code == "T_SESSION_ENDED"
        # An Actor doctored to name admin1 at 代表端末 still logs as the session it holds.
        doctored = replace(
            clerk,
            operator_id=admin.operator_id,
            login="admin1",
            terminal_id=admin.terminal_id,
            terminal_name="代表端末",
        )
        seq = record_operation(
            conn, doctored, function=Function.VIEW_RECORD, file=FileKind.PREF, outcome=Outcome.ALLOW
        )
        # Without a session: no operator in the row, ever; the typed login is only claimed.
        if role == "juki_term":
            record_operation(
                conn,
                None,
                function=Function.SIGN_IN,
                file=None,
                outcome=Outcome.FAILURE,
                claimed_login="admin1",
                terminal_id=admin.terminal_id,
            )
        else:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                record_operation(
                    conn,
                    None,
                    function=Function.SIGN_IN,
                    file=None,
                    outcome=Outcome.FAILURE,
                    claimed_login="admin1",
                    terminal_id=admin.terminal_id,
                )
        with pytest.raises(psycopg.Error) as unknown:
            record_operation(
                conn,
                None,
                function=Function.SEARCH,
                file=FileKind.PREF,
                outcome=Outcome.ALLOW,
                system="代表端末",
            )
        assert unknown.value.sqlstate == "JKS02"
    with db.connect() as conn:
        logged = rows(conn)
        assert [(r.seq, r.operator_login, r.terminal_name, r.session_id) for r in logged if r.seq == seq] == [
            (seq, "yamada", "T-001", clerk.session_id)
        ]
        assert all(r.operator_login != "admin1" for r in logged)
        assert all(r.operator_id is None for r in logged if r.actor_kind != "session")
        assert scan_log(conn).findings == []
