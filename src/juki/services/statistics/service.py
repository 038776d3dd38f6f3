"""The statistics use case (F1-8, REC-10): rights check, the tables, one operation-log row.

Statistics are aggregates, but they are still an output of the file: only an operator holding the
``statistics`` right for the file (the 統計担当 of the 市町村課) gets them, a refusal is logged
(deny, committed) before it is raised, and every page view and every export leaves exactly one
allow row naming the file, the as-of date and the form of the output (``page``, ``csv_utf8``,
``csv_sjis``, ``xlsx``, ``json``, ``console``). The tables are computed first and the allow row written after,
in the caller's connection, so nothing is shown that the log does not record.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NoReturn

import psycopg

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.services.provision.records import counts as provision_counts
from juki.services.statistics.activity import activity_counts
from juki.services.statistics.request import StatsRequest
from juki.services.statistics.residents import resident_counts
from juki.services.statistics.tables import (
    StatsReport,
    activity_tables,
    movement_tables,
    population_tables,
    provision_table,
)

__all__ = ["OUTPUTS", "build_report", "parse_request", "statistics_report"]

#: How a report may leave the server; the value is what the operation log records.
OUTPUTS = ("page", "csv_utf8", "csv_sjis", "xlsx", "json", "console")

#: Tables not built yet, named in every report so a reader knows they are missing, not zero.
OMITTED: tuple[str, ...] = ()


def build_report(conn: psycopg.Connection[Any], request: StatsRequest) -> StatsReport:
    """Every table of ``request`` (no rights check, no log: for the service below and the benchmark)."""
    spec = file_spec(request.file)
    residents = resident_counts(conn, spec, request)
    activity = activity_counts(conn, spec, request)
    provisions = provision_counts(conn, request.file, (request.first_month, request.as_of))
    subject = (
        f"{spec.label}の全員"
        if spec.statistics_subject is None
        else f"{spec.label}のうち国外転出者のみ（住基法第30条の44の6）"
    )
    return StatsReport(
        request,
        spec.title,
        subject,
        (
            *population_tables(residents, request),
            *movement_tables(residents, request),
            *activity_tables(activity, request, spec),
            provision_table(provisions, request),
        ),
        OMITTED,
    )


def _refuse(conn: psycopg.Connection[Any], actor: Actor, request: StatsRequest, output: str) -> NoReturn:
    def body() -> None:
        raise Refusal("T_FORBIDDEN")

    guarded(
        conn,
        body,
        actor=actor,
        function=Function.STATISTICS,
        event="statistics",
        file=request.file,
        on_refusal=lambda r: (r, {"as_of": request.as_of.isoformat(), "output": output}),
    )
    raise AssertionError("guarded re-raises the refusal")


def parse_request(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    text: str,
    *,
    today: date,
    output: str,
    prefecture: str,
) -> StatsRequest:
    """The request for the as-of date an operator typed; a refused date (T_STATS_DATE) is logged
    as rejected first (without the text typed: the log keeps the code, not the input)."""
    return guarded(
        conn,
        lambda: StatsRequest.parse(file, text, today=today, prefecture=prefecture),
        actor=actor,
        function=Function.STATISTICS,
        event="statistics",
        file=file,
        on_refusal=lambda r: (r, {"output": output}),
    )


def statistics_report(
    conn: psycopg.Connection[Any],
    actor: Actor | None,
    request: StatsRequest,
    *,
    output: str,
    system: str = "",
) -> StatsReport:
    """The report of ``request`` for ``actor``, logged as ``output`` (one of OUTPUTS).

    ``conn`` is an autocommit connection as the file's role. ``actor`` None is the console
    (``system`` names it): `juki stats` runs on the administrator's machine like `juki reconcile`,
    and its output is logged under that system name. Raises T_FORBIDDEN (logged as deny).
    """
    if output not in OUTPUTS:
        raise ValueError(output)
    if actor is not None and not permissions.allows(actor, Function.STATISTICS, request.file):
        _refuse(conn, actor, request, output)
    report = build_report(conn, request)
    detail = {
        "event": "statistics",
        "as_of": request.as_of.isoformat(),
        "output": output,
        "tables": len(report.tables),
    }
    record_operation(
        conn,
        actor,
        function=Function.STATISTICS,
        file=request.file,
        outcome=Outcome.ALLOW,
        target=f"as_of:{request.as_of.isoformat()}",
        detail=detail,
        system=(system or None) if actor is None else None,
    )
    return report
