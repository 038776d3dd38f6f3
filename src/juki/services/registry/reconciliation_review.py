"""Reading the results of the consistency check with the 市町村CS at a terminal (REQUIREMENTS F1-7,
F2-7, S-15): the use cases behind the terminal's 整合性確認結果 pages.

A run's differences name persons (住民票コード) and, for a differing item, both values: personal
data. So reading them is an operator's operation like the 4情報 search: it needs the
``reconciliation_review`` right for the file (the file's own operators: ``pref_operator`` for
File 1, ``fuhyo_operator`` for File 2 — the staff who follow a difference up with the
municipality; neither the administrator nor the auditor sees residents' data), and every call
leaves exactly one operation-log row — the list of runs (no personal data, but who looked is
still worth knowing) and each page of a run's differences, whose row names the run (``target``
``run:<id>``) and the page (the differences are kept unchanged, so run and page say exactly what
was shown). A refusal is logged and committed before it is raised.

The data is read first, then the allow row is written; the caller shows nothing unless both
succeeded, so nothing is shown that the log does not record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import psycopg

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.services.registry.reconciliation import RunInfo, get_run, list_differences, list_runs

__all__ = ["DEFAULT_PAGE", "DifferencePage", "differences", "runs"]

#: Differences per page.
DEFAULT_PAGE = 50
MAX_PAGE = 500


@dataclass(frozen=True)
class DifferencePage:
    """One page of a run's differences (``after``: the last ``seq`` of the page before, 0 first)."""

    run: RunInfo
    after: int
    rows: tuple[dict[str, Any], ...]  # seq, juminhyo_code, kind, fields (see reconciliation)
    has_more: bool
    log_id: int

    @property
    def next_after(self) -> int | None:
        return int(self.rows[-1]["seq"]) if self.has_more and self.rows else None


def _refuse(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    refusal: Refusal,
    *,
    event: str,
    target: str | None = None,
    detail: dict[str, object] | None = None,
) -> NoReturn:
    """Log ``refusal`` (deny / rejected, committed) and raise it."""

    def body() -> None:
        raise refusal

    guarded(
        conn,
        body,
        actor=actor,
        function=Function.RECONCILIATION_REVIEW,
        event=event,
        target=target,
        file=file,
        on_refusal=lambda r: (r, detail or {}),
    )
    raise AssertionError("guarded re-raises the refusal")


def _require(conn: psycopg.Connection[Any], actor: Actor, file: FileKind, *, event: str, **kw: Any) -> None:
    if not permissions.allows(actor, Function.RECONCILIATION_REVIEW, file):
        _refuse(conn, actor, file, Refusal("T_FORBIDDEN"), event=event, **kw)


def runs(conn: psycopg.Connection[Any], actor: Actor, file: FileKind, *, limit: int = 50) -> list[RunInfo]:
    """The latest runs of ``file``, newest first (status and counts: no personal data).

    ``conn`` is an autocommit connection as the file's role. Raises T_FORBIDDEN (logged as deny).
    """
    _require(conn, actor, file, event="reconciliation_runs")
    found = list_runs(conn, file, limit=limit)
    record_operation(
        conn,
        actor,
        function=Function.RECONCILIATION_REVIEW,
        file=file,
        outcome=Outcome.ALLOW,
        detail={"event": "reconciliation_runs", "result_count": len(found)},
    )
    return found


def differences(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    run_id: int,
    *,
    after: int = 0,
    limit: int = DEFAULT_PAGE,
) -> DifferencePage:
    """One page of run ``run_id``'s differences: those with ``seq > after``, at most ``limit``.

    ``conn`` is an autocommit connection as the file's role. Raises T_FORBIDDEN (deny),
    T_RECON_RUN_NOT_FOUND (rejected) — each logged and committed first. The allow row's target is
    ``run:<id>``; its detail has the page (``after``) and the number of differences shown.
    """
    target = f"run:{run_id}"
    event = "reconciliation_differences"
    _require(conn, actor, file, event=event, target=target, detail={"run_id": run_id})
    limit = max(1, min(limit, MAX_PAGE))
    after = max(0, after)
    run = get_run(conn, file, run_id)
    if run is None:
        _refuse(
            conn,
            actor,
            file,
            Refusal("T_RECON_RUN_NOT_FOUND"),
            event=event,
            target=target,
            detail={"run_id": run_id},
        )
    rows = list_differences(conn, file, run_id, after, limit + 1)
    shown, has_more = rows[:limit], len(rows) > limit
    log_id = record_operation(
        conn,
        actor,
        function=Function.RECONCILIATION_REVIEW,
        file=file,
        outcome=Outcome.ALLOW,
        target=target,
        detail={
            "event": event,
            "run_id": run_id,
            "municipality_code": run.municipality_code,
            "after": after,
            "result_count": len(shown),
        },
    )
    return DifferencePage(run, after, tuple(shown), has_more, log_id)
