"""What the residents'-rights services share: the logged run of one step, and identifiers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

T = TypeVar("T")


def spec_of(file: FileKind | str, refusal: str) -> FileSpec:
    try:
        return file_spec(file)
    except (KeyError, ValueError):
        raise Refusal(refusal, "対象の情報（本人確認情報／附票本人確認情報）を指定してください") from None


def run_step(
    conn: psycopg.Connection[Any],
    actor: Actor,
    body: Callable[[], T],
    *,
    function: Function,
    file: FileKind | None,
    event: str,
    target: str | None = None,
) -> T:
    """Run one step: rights first (T_FORBIDDEN, logged as deny), then ``body`` in a transaction.

    A Refusal is logged and committed before it is raised (services/audit/guard.py); an unexpected
    failure leaves an ERROR row with the exception's class name only (no values: S-15 rows never
    carry personal data the step did not mean to record). The body writes its own success row.
    """

    def checked() -> T:
        if not permissions.allows(actor, function, file):
            raise Refusal("T_FORBIDDEN")
        return body()

    try:
        return guarded(conn, checked, actor=actor, function=function, event=event, target=target, file=file)
    except Refusal:
        raise
    except Exception as exc:
        with conn.transaction():
            record_operation(
                conn,
                actor,
                function=function,
                file=file,
                outcome=Outcome.ERROR,
                target=target,
                detail={"event": event, "error": type(exc).__name__},
            )
        raise


def log_step(
    conn: psycopg.Connection[Any],
    actor: Actor,
    *,
    function: Function,
    file: FileKind | None,
    event: str,
    target: str | None,
    outcome: Outcome = Outcome.ALLOW,
    detail: Mapping[str, object] | None = None,
) -> int:
    """The success (or decided-rejection) row of a step, in the step's transaction."""
    return record_operation(
        conn,
        actor,
        function=function,
        file=file,
        outcome=outcome,
        target=target,
        detail={"event": event, **(detail or {})},
    )
