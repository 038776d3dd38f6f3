"""Row counts and order-independent content hashes of every table, computed in SQL.

A backup's manifest records them; a restore recomputes them and must match (`juki backup restore
--verify`). The hash of a table is the sum, modulo 2^64, of the first 64 bits of SHA-256 of each
row's text form: the order rows come back in does not matter, and it runs inside PostgreSQL, so
no row leaves the server. The session's TimeZone, DateStyle and extra_float_digits are fixed first
because they change a row's text form.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

#: Schemas that are PostgreSQL's own, not juki's data.
_SYSTEM = ("pg_catalog", "information_schema", "pg_toast")

_TABLES = """
SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%'
   AND n.nspname NOT LIKE 'pg_toast%%' AND (%s::text[] IS NULL OR n.nspname = ANY(%s::text[]))
 ORDER BY 1, 2
"""


def fix_text_forms(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET extra_float_digits = 3")
    conn.execute("SET IntervalStyle = 'postgres'")


def table_figures(
    conn: psycopg.Connection[Any], schemas: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{"schema.table": {"rows": n, "hash": "<16 hex>"}}`` for every table (of ``schemas``)."""
    fix_text_forms(conn)
    tables = conn.execute(_TABLES, (list(_SYSTEM), schemas, schemas)).fetchall()
    result: dict[str, dict[str, Any]] = {}
    for schema, table in tables:
        query = sql.SQL(
            "SELECT count(*), (coalesce(sum(('x' || encode(substr(sha256(convert_to(t::text, 'UTF8')), 1, 8),"
            " 'hex'))::bit(64)::bigint::numeric), 0) % 18446744073709551616 + 18446744073709551616)"
            " % 18446744073709551616 FROM {}.{} t"
        ).format(sql.Identifier(schema), sql.Identifier(table))
        row = conn.execute(query).fetchone()
        assert row is not None
        result[f"{schema}.{table}"] = {"rows": int(row[0]), "hash": format(int(row[1]), "016x")}
    return result
