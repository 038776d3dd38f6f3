"""Registered terminals: 代表端末 and 業務端末 (ARCHITECTURE.md §4, REQUIREMENTS S-29).

Operators work only at registered terminals. An administrator registers a terminal (its kind and
whether output to media is allowed there) and gets a one-time binding token; the browser on that
machine redeems it once and receives a long random terminal secret, kept in a cookie and stored
here only as a hash. Each request names its terminal by that secret, so the terminal identity is
the server's record, not something the browser claims. Retiring a terminal ends its sessions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import tokens
from juki.services.access.actor import Actor, Function, Outcome, TerminalKind
from juki.services.access.permissions import require
from juki.services.access.session_end import end_open_sessions, open_sessions
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "CONSOLE",
    "SYSTEM_BOOTSTRAP",
    "SYSTEM_CONSOLE",
    "Terminal",
    "bind",
    "get_terminal",
    "issue_binding_token",
    "list_terminals",
    "register_terminal",
    "resolve_terminal",
    "retire",
    "set_bulk_enabled",
]

#: How the server console (the `juki` CLI) appears in logs and `*_by` columns.
CONSOLE = "(console)"
#: The operation log's system channel of the server console (audit_api.append_system, migration 0018).
SYSTEM_CONSOLE = "console"
#: The channel of the first setup (`juki admin bootstrap`, the second administrator's grant; 0034).
SYSTEM_BOOTSTRAP = "bootstrap"

_COLUMNS = "id, name, kind, bulk_enabled, registered_at, secret_hash IS NOT NULL, bound_at, retired_at"


@dataclass(frozen=True)
class Terminal:
    """A registered terminal as the services see it."""

    id: int
    name: str
    kind: TerminalKind
    bulk_enabled: bool
    registered_at: datetime
    bound: bool  # a browser holds its secret
    bound_at: datetime | None
    retired_at: datetime | None

    @property
    def kind_label(self) -> str:
        return "代表端末" if self.kind is TerminalKind.REPRESENTATIVE else "業務端末"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"kind_label": self.kind_label}


def _terminal(row: tuple[Any, ...]) -> Terminal:
    return Terminal(
        id=int(row[0]),
        name=str(row[1]),
        kind=TerminalKind(row[2]),
        bulk_enabled=bool(row[3]),
        registered_at=row[4],
        bound=bool(row[5]),
        bound_at=row[6],
        retired_at=row[7],
    )


def _by(by: Actor | None) -> str:
    return by.login if by is not None else CONSOLE


def _log(
    conn: psycopg.Connection[Any], by: Actor | None, event: str, terminal: Terminal, **extra: object
) -> None:
    record_operation(
        conn,
        by,
        function=Function.TERMINAL_ADMIN,
        file=None,
        outcome=Outcome.ALLOW,
        target=terminal.name,
        detail={"event": event, "terminal": terminal.id, **extra},
        system=None if by else SYSTEM_CONSOLE,
    )


def get_terminal(conn: psycopg.Connection[Any], terminal: int | str) -> Terminal:
    """A terminal by id or name (retired ones too), or T_TERMINAL_UNKNOWN."""
    column = "id" if isinstance(terminal, int) else "name"
    row = conn.execute(f"SELECT {_COLUMNS} FROM term.terminals WHERE {column} = %s", (terminal,)).fetchone()
    if row is None:
        raise Refusal("T_TERMINAL_UNKNOWN", str(terminal))
    return _terminal(row)


def list_terminals(conn: psycopg.Connection[Any], *, include_retired: bool = False) -> list[Terminal]:
    """Registered terminals by name."""
    where = "" if include_retired else "WHERE retired_at IS NULL"
    rows = conn.execute(f"SELECT {_COLUMNS} FROM term.terminals {where} ORDER BY name").fetchall()
    return [_terminal(r) for r in rows]


def register_terminal(
    conn: psycopg.Connection[Any],
    settings: Settings,
    name: str,
    kind: TerminalKind,
    *,
    bulk_enabled: bool = False,
    by: Actor | None,
) -> tuple[Terminal, str]:
    """Register a terminal; returns it and its one-time binding token (shown once).

    `by` is the administrator (terminal_admin), or None for the server console.
    """
    clean = name.strip()

    def body() -> tuple[Terminal, str]:
        require(by, Function.TERMINAL_ADMIN)
        if not 1 <= len(clean) <= 64:
            raise Refusal("T_NAME_INVALID")
        if conn.execute("SELECT 1 FROM term.terminals WHERE name = %s", (clean,)).fetchone():
            raise Refusal("T_TERMINAL_EXISTS", clean)
        row = conn.execute(
            f"""INSERT INTO term.terminals (name, kind, bulk_enabled, registered_by)
                VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}""",
            (clean, kind.value, bulk_enabled, _by(by)),
        ).fetchone()
        assert row is not None
        terminal = _terminal(row)
        token = tokens.issue(
            conn,
            "bind_terminal",
            seconds=settings.one_time_token_seconds,
            created_by=_by(by),
            terminal_id=terminal.id,
        )
        _log(conn, by, "terminal_register", terminal, kind=kind.value, bulk_enabled=bulk_enabled)
        return terminal, token

    return guarded(
        conn,
        body,
        actor=by,
        function=Function.TERMINAL_ADMIN,
        event="terminal_register",
        target=clean,
        system=None if by else SYSTEM_CONSOLE,
    )


def issue_binding_token(
    conn: psycopg.Connection[Any], settings: Settings, terminal: int | str, *, by: Actor | None
) -> str:
    """A new binding token for a registered terminal (a new browser, a reinstalled machine).

    Binding with it replaces the terminal's secret: the browser that held the old one is no longer
    that terminal.
    """

    def body() -> str:
        require(by, Function.TERMINAL_ADMIN)
        found = get_terminal(conn, terminal)
        if found.retired_at is not None:
            raise Refusal("T_TERMINAL_UNKNOWN", f"{found.name} は廃止済みです")
        token = tokens.issue(
            conn,
            "bind_terminal",
            seconds=settings.one_time_token_seconds,
            created_by=_by(by),
            terminal_id=found.id,
        )
        _log(conn, by, "terminal_binding_token", found)
        return token

    return guarded(
        conn,
        body,
        actor=by,
        function=Function.TERMINAL_ADMIN,
        event="terminal_binding_token",
        target=str(terminal),
        system=None if by else SYSTEM_CONSOLE,
    )


def bind(conn: psycopg.Connection[Any], binding_token: str) -> tuple[Terminal, str]:
    """Redeem a binding token: returns the terminal and its new secret (for a cookie; shown once).

    Logged with the terminal's name and no operator: nobody is signed in at an unbound browser.
    """

    def body() -> tuple[Terminal, str]:
        used = tokens.redeem(conn, binding_token, "bind_terminal")
        assert used.terminal_id is not None
        found = get_terminal(conn, used.terminal_id)
        if found.retired_at is not None:
            raise Refusal("T_ENROLMENT_INVALID", "廃止済みの端末です")
        secret = tokens.new_secret()
        row = conn.execute(
            f"""UPDATE term.terminals SET secret_hash = %s, bound_at = now() WHERE id = %s
                RETURNING {_COLUMNS}""",
            (tokens.digest(secret), found.id),
        ).fetchone()
        assert row is not None
        terminal = _terminal(row)
        record_operation(
            conn,
            None,
            function=Function.TERMINAL_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=terminal.name,
            detail={"event": "terminal_bind", "terminal": terminal.id, "rebound": found.bound},
            terminal_id=terminal.id,
        )
        return terminal, secret

    return guarded(conn, body, actor=None, function=Function.TERMINAL_ADMIN, event="terminal_bind")


def resolve_terminal(conn: psycopg.Connection[Any], secret: str | None) -> Terminal:
    """The live terminal whose secret this is, or T_TERMINAL_UNKNOWN (unknown, missing or retired)."""
    if not secret:
        raise Refusal("T_TERMINAL_UNKNOWN")
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM term.terminals WHERE secret_hash = %s AND retired_at IS NULL",
        (tokens.digest(secret),),
    ).fetchone()
    if row is None:
        raise Refusal("T_TERMINAL_UNKNOWN")
    return _terminal(row)


def retire(conn: psycopg.Connection[Any], terminal: int | str, *, by: Actor | None) -> int:
    """Retire a terminal: its secret stops working and its open sessions end. Returns sessions ended."""

    def body() -> int:
        require(by, Function.TERMINAL_ADMIN)
        found = get_terminal(conn, terminal)
        if found.retired_at is not None:
            raise Refusal("T_TERMINAL_UNKNOWN", f"{found.name} は廃止済みです")
        conn.execute(
            "UPDATE term.terminals SET retired_at = now(), retired_by = %s WHERE id = %s",
            (_by(by), found.id),
        )
        # Logged before the sessions end: the administrator may be at the terminal being retired.
        _log(conn, by, "terminal_retire", found, sessions_ended=open_sessions(conn, terminal_id=found.id))
        return end_open_sessions(conn, reason="terminal_retired", terminal_id=found.id, expire_tokens=True)

    return guarded(
        conn,
        body,
        actor=by,
        function=Function.TERMINAL_ADMIN,
        event="terminal_retire",
        target=str(terminal),
        system=None if by else SYSTEM_CONSOLE,
    )


def set_bulk_enabled(
    conn: psycopg.Connection[Any], terminal: int | str, enabled: bool, *, by: Actor | None
) -> Terminal:
    """Allow or stop output to media (一括出力, S-29) at a terminal; logged with the old and new value.

    The flag is read on every request (`resolve_terminal`), so the change holds from the next one.
    """

    def body() -> Terminal:
        require(by, Function.TERMINAL_ADMIN)
        found = get_terminal(conn, terminal)
        if found.retired_at is not None:
            raise Refusal("T_TERMINAL_UNKNOWN", f"{found.name} は廃止済みです")
        row = conn.execute(
            f"UPDATE term.terminals SET bulk_enabled = %s WHERE id = %s RETURNING {_COLUMNS}",
            (enabled, found.id),
        ).fetchone()
        assert row is not None
        _log(conn, by, "terminal_bulk_flag", found, bulk_enabled=enabled, was=found.bulk_enabled)
        return _terminal(row)

    return guarded(
        conn,
        body,
        actor=by,
        function=Function.TERMINAL_ADMIN,
        event="terminal_bulk_flag",
        target=str(terminal),
        system=None if by else SYSTEM_CONSOLE,
    )
