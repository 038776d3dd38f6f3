"""Provision and transfer records (REQUIREMENTS REC-1, S-21, S-22, R-08; F1-3's provision status, S-55).

One row per person-answer of a single or bulk provision, provided or refused "where processing ran"
(S-22), in the file's own schema (``pref.provision_record`` / ``fuhyo.provision_record``, migration
0020), written in the same transaction as the operation-log row it points to (``op_log_seq``). The
server roles may only append and read; :func:`purge_expired` deletes rows older than seven years
(R-08) through a function that trusts only the server's clock.

Every function takes a connection as the file's role (juki_pref / juki_fuhyo) and never commits.
The requester and task are copied into the row as the catalog named them, so "who was given my
data" (S-55) reads true years after the catalog changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.actor import Actor
from juki.services.provision.catalog import Task

__all__ = [
    "BULK_SOURCE_COLUMNS",
    "Basis",
    "ProvisionCount",
    "ProvisionRecord",
    "counts",
    "provisions_of",
    "purge_expired",
    "record_many_from",
    "record_provision",
]


@dataclass(frozen=True)
class Basis:
    """Who asked and on which legal basis, as recorded. Built from the catalog's task when the
    request named a valid one (:meth:`of`), else from the codes the request gave (a refusal)."""

    requester_code: str
    requester_name: str = ""
    requester_kind: str = ""
    task_code: str = ""
    task_name: str = ""
    legal_path: str = ""
    legal_basis: str = ""
    catalog_version: int | None = None

    @classmethod
    def of(cls, task: Task, file: FileKind, catalog_version: int) -> Basis:
        return cls(
            requester_code=task.requester.code,
            requester_name=task.requester.name,
            requester_kind=task.requester.kind.value,
            task_code=task.code,
            task_name=task.name,
            legal_path=task.legal_path.value,
            legal_basis=f"{task.legal_path_label(file)} {task.citation}",
            catalog_version=catalog_version,
        )


@dataclass(frozen=True)
class ProvisionRecord:
    """One stored row."""

    id: int
    at: datetime
    operator_id: int | None
    operator_login: str
    terminal_id: int | None
    terminal_name: str
    requester_code: str
    requester_name: str
    requester_kind: str
    task_code: str
    task_name: str
    legal_path: str
    legal_basis: str
    catalog_version: int | None
    key_type: str
    method: str
    juminhyo_code: str | None
    items: list[str]
    my_number_added: bool
    source: str | None
    result_code: str
    reason: str
    requester_ref: str
    bulk_job_id: int | None
    op_log_seq: int | None
    retain_until: date
    my_number_ref: str | None = None  # migration 0021: the temporary area's reference (F2-2)

    @property
    def provided(self) -> bool:
        return self.result_code == ResultCode.MATCH.value


@dataclass(frozen=True)
class ProvisionCount:
    """Statistics (REC-10, F1-8): person-answers per month, requester, task and result."""

    month: date
    requester_code: str
    requester_name: str
    task_code: str
    task_name: str
    result_code: str
    count: int


_COLUMNS: Final = (
    "operator_id, operator_login, terminal_id, terminal_name, requester_code, requester_name, "
    "requester_kind, task_code, task_name, legal_path, legal_basis, catalog_version, key_type, method, "
    "juminhyo_code, items, my_number_added, source, result_code, reason, requester_ref, bulk_job_id, "
    "op_log_seq, retain_until"
)
_RETAIN: Final = "(now() + interval '7 years')::date"  # R-08 (RECORD_RETENTION_YEARS)


def _who(actor: Actor) -> tuple[int | None, str, int | None, str]:
    return actor.operator_id, actor.login, actor.terminal_id, actor.terminal_name


def record_provision(
    conn: psycopg.Connection[Any],
    file: FileKind,
    actor: Actor,
    basis: Basis,
    *,
    key_type: KeyType | None,
    method: Method | None,
    result: ResultCode,
    juminhyo_code: str | None = None,
    items: Sequence[str] = (),
    my_number_added: bool = False,
    source: str | None = None,
    reason: str = "",
    requester_ref: str = "",
    bulk_job_id: int | None = None,
    op_log_seq: int | None = None,
    my_number_ref: str | None = None,
) -> int:
    """Append one record in the caller's transaction (with its operation-log row); its id.

    ``items`` are the columns given (empty unless ``result`` is P_MATCH — the table checks it);
    ``juminhyo_code`` is the target where one was identified, even when refused; ``my_number_ref``
    the temporary area's reference of an added 個人番号 (F2-2, for re-delivery)."""
    spec = file_spec(file)
    row = conn.execute(
        sql.SQL(
            "INSERT INTO {} ("
            + _COLUMNS
            + ", my_number_ref) VALUES ("
            + ", ".join(["%s"] * 23)
            + ", "
            + _RETAIN
            + ", %s) RETURNING id"
        ).format(sql.SQL(spec.provision_record)),
        (
            *_who(actor),
            basis.requester_code,
            basis.requester_name,
            basis.requester_kind,
            basis.task_code,
            basis.task_name,
            basis.legal_path,
            basis.legal_basis,
            basis.catalog_version,
            key_type.value if key_type is not None else "",
            method.value if method is not None else "",
            juminhyo_code,
            list(items) if result.provided else [],
            my_number_added,
            source,
            result.value,
            reason,
            requester_ref[:200],
            bulk_job_id,
            op_log_seq,
            my_number_ref,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


#: The columns a bulk job's source table must have (any others are ignored), for record_many_from.
BULK_SOURCE_COLUMNS: Final = (
    "juminhyo_code text",  # NULL where nobody was identified
    "key_type text",  # KeyType value
    "items text[]",  # given columns; '{}' unless result_code = 'P_MATCH'
    "result_code text",  # ResultCode value
    "reason text",
    "requester_ref text",  # the line's reference in the request file
    "my_number_added boolean",
    "source text",  # 'local' / 'national' / NULL
)


def record_many_from(
    conn: psycopg.Connection[Any],
    file: FileKind,
    source_table: str,
    actor: Actor,
    basis: Basis,
    *,
    method: Method,
    bulk_job_id: int,
    op_log_seq: int | None,
) -> int:
    """F1-2b: one record per row of ``source_table`` (a TEMP table with :data:`BULK_SOURCE_COLUMNS`)
    in one INSERT … SELECT, in the caller's transaction; how many were written."""
    spec = file_spec(file)
    query = sql.SQL(
        "INSERT INTO {target} (" + _COLUMNS + ") "
        "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, s.key_type, %s, s.juminhyo_code, "
        "CASE WHEN s.result_code = 'P_MATCH' THEN coalesce(s.items, '{{}}') ELSE '{{}}' END, "
        "coalesce(s.my_number_added, false), s.source, s.result_code, coalesce(s.reason, ''), "
        "left(coalesce(s.requester_ref, ''), 200), %s, %s, " + _RETAIN + " FROM {source} s"
    ).format(target=sql.SQL(spec.provision_record), source=sql.Identifier(source_table))
    cur = conn.execute(
        query,
        (
            *_who(actor),
            basis.requester_code,
            basis.requester_name,
            basis.requester_kind,
            basis.task_code,
            basis.task_name,
            basis.legal_path,
            basis.legal_basis,
            basis.catalog_version,
            method.value,
            bulk_job_id,
            op_log_seq,
        ),
    )
    return cur.rowcount


def provisions_of(
    conn: psycopg.Connection[Any],
    file: FileKind,
    juminhyo_code: str,
    *,
    since: datetime | date | None = None,
) -> list[ProvisionRecord]:
    """Every record naming the person, oldest first (S-55). Refusals included: the caller filters
    (``record.provided``) — a refusal is not provision (LEGAL.md §4)."""
    spec = file_spec(file)
    query = sql.SQL("SELECT id, at, " + _COLUMNS + ", my_number_ref FROM {} WHERE juminhyo_code = %s").format(
        sql.SQL(spec.provision_record)
    )
    params: list[Any] = [juminhyo_code]
    if since is not None:
        query += sql.SQL(" AND at >= %s")
        params.append(since)
    query += sql.SQL(" ORDER BY at, id")
    with conn.cursor(row_factory=class_row(ProvisionRecord)) as cur:
        return cur.execute(query, params).fetchall()


def counts(conn: psycopg.Connection[Any], file: FileKind, period: tuple[date, date]) -> list[ProvisionCount]:
    """Person-answers per month, requester, task and result in [period[0], period[1]] (REC-10)."""
    spec = file_spec(file)
    query = sql.SQL(
        "SELECT date_trunc('month', at)::date AS month, requester_code, max(requester_name), task_code, "
        "max(task_name), result_code, count(*) FROM {} WHERE at >= %s AND at < %s + 1 "
        "GROUP BY 1, 2, 4, 6 ORDER BY 1, 2, 4, 6"
    ).format(sql.SQL(spec.provision_record))
    rows = conn.execute(query, period).fetchall()
    return [ProvisionCount(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6])) for r in rows]


def purge_expired(conn: psycopg.Connection[Any], file: FileKind, today: date | None = None) -> int:
    """R-08: delete records past their seven years; how many. ``today`` may be a scheduler's day,
    but the database never deletes a row younger than seven years by its own clock."""
    spec = file_spec(file)
    row = conn.execute(
        sql.SQL("SELECT {}(%s)").format(sql.SQL(spec.table("purge_provision_records"))),
        (today or date.today(),),
    ).fetchone()
    assert row is not None
    return int(row[0])
