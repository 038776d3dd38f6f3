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


def copy_line(values: Sequence[Any]) -> str:
    """One row in COPY text format (exact, per field)."""
    return "\t".join([copy_field(v) for v in values]) + "\n"


class RowFormatter:
    """Fast COPY text for rows of one table, for the bulk loader.

    Every value is rendered with ``str`` in one C-level ``map`` — PostgreSQL reads Python's forms of
    numbers, booleans ("True"), dates and timestamps — and only the nullable columns (learnt from the
    catalog) are checked for None. The joined line is scanned once for characters that need escaping;
    a line that has any (rare in names and addresses) is rebuilt on the exact per-field path.
    """

    def __init__(self, nullable_positions: Sequence[int], width: int) -> None:
        self._nullable = tuple(nullable_positions)
        self._tabs = width - 1

    @property
    def nullable(self) -> list[int]:
        return list(self._nullable)

    @classmethod
    def for_table(
        cls, conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str]
    ) -> RowFormatter:
        rows = conn.execute(
            """SELECT column_name FROM information_schema.columns
                WHERE table_schema = %s AND table_name = %s AND is_nullable = 'YES'""",
            (schema, table),
        ).fetchall()
        nullable = {str(r[0]) for r in rows}
        return cls([i for i, name in enumerate(columns) if name in nullable], len(columns))

    def line(self, values: list[Any]) -> str:
        out = values
        nulls = 0
        for i in self._nullable:
            if values[i] is None:
                if not nulls:
                    out = list(values)
                out[i] = "\\N"
                nulls += 1
        line = "\t".join(map(str, out))
        if "\n" in line or "\r" in line or line.count("\\") != nulls or line.count("\t") != self._tabs:
            return copy_line(values)
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
