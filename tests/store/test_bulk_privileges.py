"""Bulk provision in the database (S-23, S-35, S-30): what each login role may do with the new tables."""

from __future__ import annotations

import psycopg
import pytest

from juki.store.db import Database, DbRole


@pytest.mark.parametrize(
    "statement", ["UPDATE {s}.bulk_exchange SET rows = 0", "DELETE FROM {s}.bulk_exchange"]
)
@pytest.mark.parametrize("schema", ["pref", "fuhyo"])
def test_s23_the_record_of_exchanges_is_append_only_for_the_server_role(
    db: Database, schema: str, statement: str
) -> None:
    """S-23, REC-3: the server role may record an exchange but never rewrite or delete one."""
    role = DbRole.PREF if schema == "pref" else DbRole.FUHYO
    with db.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement.format(s=schema))


@pytest.mark.parametrize("table", ["bulk_job", "bulk_request_row", "bulk_exchange"])
def test_s35_the_fuhyo_role_sees_nothing_of_file_1_bulk_jobs(db: Database, table: str) -> None:
    """S-35: File 1's request rows may hold a 個人番号; the fuhyo role cannot read any File 1 bulk table."""
    with db.connect(DbRole.FUHYO) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"SELECT * FROM pref.{table} LIMIT 1")


@pytest.mark.parametrize("role", [DbRole.PREF, DbRole.FUHYO])
def test_s30_the_file_roles_read_the_media_register_but_cannot_change_it(db: Database, role: DbRole) -> None:
    """S-30, REC-6: an output checks the register; only the administration (juki_term) changes it."""
    with db.connect(role) as conn:
        conn.execute("SELECT * FROM provision.media, provision.requester_recipient LIMIT 1")
    for statement in (
        "UPDATE provision.media SET status = 'approved'",
        "INSERT INTO provision.requester_recipient (requester_code, age_recipient, set_by)"
        " VALUES ('x', 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq', 'x')",
    ):
        with db.connect(role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
