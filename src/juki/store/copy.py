"""Bulk-load helpers: PostgreSQL COPY text encoding and dropping/rebuilding a table's indexes.

Loading 10M persons is dominated by index maintenance if the indexes are live; building them after
the COPY (one sort each) is several times faster. `deferred_indexes` captures the exact definitions
from the catalog, drops them, and recreates them afterwards, so the loader never duplicates the
schema's index list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import psycopg

_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: Any) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


_FORMAT: dict[type, Any] = {
    type(None): lambda _v: "\x00",  # placeholder for \\N, swapped in after the escape scan
    bool: lambda v: "t" if v else "f",
    int: str,
    date: date.isoformat,
    datetime: datetime.isoformat,
}


def copy_line(values: Sequence[Any]) -> str:
    """One row in COPY text format.

    Fast path for the bulk loader: join first, then scan the joined line once for the characters
    that need escaping; only a line that has any (rare in names and addresses) takes the exact
    per-field path.
    """
    parts = [v if type(v) is str else _FORMAT.get(type(v), copy_field)(v) for v in values]
    line = "\t".join(parts)
    if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != len(parts) - 1:
        return "\t".join([copy_field(v) for v in values]) + "\n"
    if "\x00" in line:
        if line.count("\x00") != sum(1 for v in values if v is None):  # a NUL inside a text value
            return "\t".join([copy_field(v) for v in values]) + "\n"
        line = line.replace("\x00", "\\N")
    return line + "\n"


@contextmanager
def deferred_indexes(conn: psycopg.Connection[Any], schema: str, table: str) -> Iterator[list[str]]:
    """Drop every index (and the constraints they back) of ``schema.table``; recreate them on exit.

    Yields the statements that will recreate them. Must run inside the loading transaction, so a
    failed load rolls the drop back too.
    """
    rows = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                  c.conname, pg_get_constraintdef(c.oid)
             FROM pg_index i
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid
            WHERE n.nspname = %s AND t.relname = %s
            ORDER BY c.conname NULLS LAST""",
        (schema, table),
    ).fetchall()
    recreate: list[str] = []
    for index_name, index_def, constraint, constraint_def in rows:
        if constraint:
            conn.execute(f'ALTER TABLE {schema}.{table} DROP CONSTRAINT "{constraint}"')
            recreate.append(f'ALTER TABLE {schema}.{table} ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            conn.execute(f"DROP INDEX {index_name}")
            recreate.append(index_def)
    yield recreate
    for statement in recreate:
        conn.execute(statement)
