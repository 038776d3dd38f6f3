"""Ending open sessions, and expiring unused one-time links, of one operator or one terminal.

Called wherever access stops at once: a lockout, a revoked right, a disabled operator, a retired
terminal. Kept apart from `sessions` (sign-in and resolving a request's session), which imports the
modules that call this one.
"""

from __future__ import annotations

from typing import Any, Literal

import psycopg

#: Why a session ended (term.sessions.end_reason) other than the operator signing out.
EndReason = Literal["lockout", "rights_revoked", "operator_disabled", "terminal_retired"]


def open_sessions(
    conn: psycopg.Connection[Any], *, operator_id: int | None = None, terminal_id: int | None = None
) -> int:
    """How many sessions of ``operator_id`` or of ``terminal_id`` are open, their rows locked.

    For the log row written *before* `end_open_sessions`: the operation log takes who acts from the
    acting session (migration 0018), and an administrator may be ending their own session."""
    if (operator_id is None) == (terminal_id is None):
        raise ValueError("open_sessions: give exactly one of operator_id and terminal_id")
    column, subject = (
        ("operator_id", operator_id) if operator_id is not None else ("terminal_id", terminal_id)
    )
    rows = conn.execute(
        f"SELECT id FROM term.sessions WHERE {column} = %s AND ended_at IS NULL FOR UPDATE", (subject,)
    ).fetchall()
    return len(rows)


def end_open_sessions(
    conn: psycopg.Connection[Any],
    *,
    reason: EndReason,
    operator_id: int | None = None,
    terminal_id: int | None = None,
    expire_tokens: bool = False,
) -> int:
    """End the open sessions of ``operator_id`` or of ``terminal_id`` (exactly one of them) with
    ``reason``; with ``expire_tokens`` its unused one-time links (enrolment, binding) expire too.
    Returns the number of sessions ended."""
    if (operator_id is None) == (terminal_id is None):
        raise ValueError("end_open_sessions: give exactly one of operator_id and terminal_id")
    column, subject = (
        ("operator_id", operator_id) if operator_id is not None else ("terminal_id", terminal_id)
    )
    if expire_tokens:
        conn.execute(
            f"""UPDATE term.one_time_tokens SET expires_at = least(expires_at, now())
                WHERE {column} = %s AND used_at IS NULL""",
            (subject,),
        )
    return conn.execute(
        f"""UPDATE term.sessions SET ended_at = now(), end_reason = %s
            WHERE {column} = %s AND ended_at IS NULL""",
        (reason, subject),
    ).rowcount
