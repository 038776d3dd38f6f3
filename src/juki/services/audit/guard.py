"""Run an operator-side operation so that a refusal is logged and committed, and nothing else is.

The operation-log pattern (docs/terminals.md) wants a refused operation to leave exactly one trace:
its log row, committed before the refusal reaches the caller, while whatever the operation had
written before it was refused is rolled back. `guarded` does that for the terminal services: the
body runs in a transaction and raises `Refusal` to refuse; the wrapper rolls the body back, then in
a transaction of its own writes the log row (and whatever must survive the refusal, such as a
sign-in failure counter) and commits it, and re-raises.

Connections passed to the terminal services are autocommit connections, so each `transaction()`
block is a real transaction. Inside a caller's transaction the blocks become savepoints and the
caller's commit decides — the refusal still leaves no partial work behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation

__all__ = ["DENY_CODES", "ERROR_CODES", "FAILURE_CODES", "Attempt", "guarded", "outcome_of"]

T = TypeVar("T")

#: Refusals by the permission matrix or the four-eyes rule: logged as deny.
DENY_CODES = frozenset({"T_FORBIDDEN", "T_RIGHTS_SELF_APPROVAL", "T_PASSWORD_NOT_ALLOWED"})
#: Authentication failures: logged as failure.
FAILURE_CODES = frozenset(
    {
        "T_AUTH_FAILED",
        "T_AUTH_LOCKED",
        "T_AUTH_THROTTLED",
        "T_WEBAUTHN_FAILED",
        "T_WEBAUTHN_UV_REQUIRED",
        "T_ENROLMENT_INVALID",
        "T_TERMINAL_UNKNOWN",
        "T_SESSION_REQUIRED",
        "T_SESSION_ENDED",
        "T_SESSION_LOCKED",
    }
)

#: Refusals because the system, not the operator's input, could not carry the operation out (the
#: J-LIS server unreachable, not configured, or failing mutual authentication): logged as error.
ERROR_CODES = frozenset({"T_JLIS_NOT_CONFIGURED", "T_JLIS_UNAVAILABLE", "T_JLIS_REFUSED"})


@dataclass
class Attempt:
    """What a body learned before it was refused, for the refusal's log row and failure counter.

    A sign-in body finds out who is signing in only as it goes (the login typed, the credential's
    owner, the challenge used); it notes that here so the refusal is logged against the right
    operator and the challenge stays used even though the body's own writes are rolled back.
    """

    operator_id: int | None = None
    operator_login: str | None = None
    target: str | None = None
    challenge_id: int | None = None
    note: str | None = None  # why, for the log only (e.g. py_webauthn's reason); never shown


def outcome_of(refusal: Refusal) -> Outcome:
    """How a refusal is written to the operation log."""
    if refusal.code in DENY_CODES:
        return Outcome.DENY
    if refusal.code in FAILURE_CODES:
        return Outcome.FAILURE
    if refusal.code in ERROR_CODES:
        return Outcome.ERROR
    return Outcome.REJECTED


def guarded(
    conn: psycopg.Connection[Any],
    body: Callable[[], T],
    *,
    actor: Actor | None,
    function: Function,
    event: str,
    target: str | None = None,
    file: FileKind | None = None,
    claimed_login: str | None = None,
    terminal_id: int | None = None,
    system: str | None = None,
    on_refusal: Callable[[Refusal], tuple[Refusal, Mapping[str, object] | None]] | None = None,
    attempt: Attempt | None = None,
) -> T:
    """Run `body` in a transaction; on `Refusal`, roll it back, log the refusal, commit, re-raise.

    `on_refusal` runs in the refusal's transaction before the log row is written, to record what
    must survive the refusal (a sign-in failure counter); it returns the refusal to report — the
    same one, or another (the failure that locks an operator ID is reported as T_AUTH_LOCKED) — and
    detail to add to the log row. `attempt`, filled in by the body, names the operator and target
    in the refusal's row. The body writes its own success log row (it knows what it did).
    Without an actor the refusal is logged as somebody not signed in at `terminal_id`, the login
    typed (or the attempt's) as claimed only, or as `system` (record_operation, migration 0018).
    """
    try:
        with conn.transaction():
            return body()
    except Refusal as refused:
        final: Refusal = refused
        with conn.transaction():
            extra: Mapping[str, object] | None = None
            if on_refusal is not None:
                final, extra = on_refusal(refused)
            detail: dict[str, object] = {"event": event, "refusal": final.code}
            if final is not refused:
                detail["cause"] = refused.code
            if final.detail:
                detail["reason"] = final.detail
            if attempt is not None and attempt.operator_id is not None:
                detail["operator"] = attempt.operator_id
            if attempt is not None and attempt.note:
                detail["note"] = attempt.note
            if extra:
                detail.update(extra)
            record_operation(
                conn,
                actor,
                function=function,
                file=file,
                outcome=outcome_of(final),
                target=(attempt.target if attempt and attempt.target else None) or target,
                detail=detail,
                claimed_login=None
                if actor is not None
                else (attempt.operator_login if attempt else None) or claimed_login,
                terminal_id=None if actor is not None else terminal_id,
                system=None if actor is not None else system,
            )
        if final is refused:
            raise
        raise final from None
