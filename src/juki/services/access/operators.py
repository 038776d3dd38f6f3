"""Operators: registration, enrolment links, ID + password checks with lockout, the first administrator.

An administrator registers an operator (login and display name) and hands them a one-time
enrolment link; with it the operator sets a password — only if one of their roles allows passwords
(S-02, S-03) — or registers a WebAuthn authenticator (`webauthn_auth`, S-01). Sign-in failures are
counted per terminal and per ID typed (`throttle`): one terminal that fails too often is throttled
for that ID; failures from several terminals lock the ID until an administrator unlocks it; the
lock ends the operator's open sessions. Every such event is in the operation log.

The password check itself (`check_password`) is a building block of `sessions`: it runs inside the
sign-in's transaction and raises `Refusal`; `failure_handler` turns a refusal into a counted
failure in the transaction that logs it (see `guard.guarded`), so the count survives the refusal.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, NamedTuple

import psycopg

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import passwords, permissions, rights_ledger, throttle, tokens
from juki.services.access.actor import Actor, Function, Outcome, TerminalKind
from juki.services.access.session_end import end_open_sessions, open_sessions
from juki.services.access.terminals import (
    CONSOLE,
    SYSTEM_BOOTSTRAP,
    SYSTEM_CONSOLE,
    get_terminal,
    issue_binding_token,
    register_terminal,
)
from juki.services.audit.guard import Attempt, guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "AUTH_FAILURES",
    "Bootstrap",
    "Operator",
    "bootstrap_first_admin",
    "change_password",
    "check_password",
    "console_actor",
    "create_operator",
    "disable_operator",
    "enrol_password",
    "enrolment_operator",
    "failure_handler",
    "get_operator",
    "issue_enrolment_token",
    "list_operators",
    "normalize_login",
    "unlock_operator",
]

_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Refusals that count as a failed sign-in attempt towards the lockout.
AUTH_FAILURES = frozenset({"T_AUTH_FAILED", "T_WEBAUTHN_FAILED", "T_WEBAUTHN_UV_REQUIRED"})

_COLUMNS = """o.id, o.login, o.display_name, o.created_at, o.disabled_at,
  EXISTS (SELECT 1 FROM term.password_credentials p WHERE p.operator_id = o.id),
  (SELECT count(*) FROM term.webauthn_credentials w WHERE w.operator_id = o.id),
  s.locked_at, coalesce(s.consecutive_failures, 0)"""
_FROM = "term.operators o LEFT JOIN term.sign_in_state s ON s.operator_id = o.id"


@dataclass(frozen=True)
class Operator:
    """An operator as the services and the administration screens see them."""

    id: int
    login: str
    display_name: str
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool
    webauthn_credentials: int
    locked_at: datetime | None  # locked after repeated sign-in failures
    consecutive_failures: int

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _operator(row: tuple[Any, ...]) -> Operator:
    return Operator(
        id=int(row[0]),
        login=str(row[1]),
        display_name=str(row[2]),
        created_at=row[3],
        disabled_at=row[4],
        has_password=bool(row[5]),
        webauthn_credentials=int(row[6]),
        locked_at=row[7],
        consecutive_failures=int(row[8]),
    )


def normalize_login(login: str) -> str:
    """The login as stored: trimmed, lower case, from a small ASCII alphabet (T_LOGIN_INVALID)."""
    clean = login.strip().lower()
    if not _LOGIN.match(clean):
        raise Refusal("T_LOGIN_INVALID")
    return clean


def _find(conn: psycopg.Connection[Any], operator: int | str) -> Operator | None:
    key: int | str
    if isinstance(operator, int):
        where, key = "o.id = %s", operator
    else:
        try:
            where, key = "o.login = %s", normalize_login(operator)
        except Refusal:
            return None
    row = conn.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where}", (key,)).fetchone()
    return _operator(row) if row else None


def get_operator(conn: psycopg.Connection[Any], operator: int | str) -> Operator:
    """An operator by id or login, or T_OPERATOR_UNKNOWN."""
    found = _find(conn, operator)
    if found is None:
        raise Refusal("T_OPERATOR_UNKNOWN", str(operator))
    return found


def list_operators(conn: psycopg.Connection[Any]) -> list[Operator]:
    """All operators by login, disabled ones included (the inventory needs them)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {_FROM} ORDER BY o.login").fetchall()
    return [_operator(r) for r in rows]


def _by(by: Actor | None) -> str:
    return by.login if by is not None else CONSOLE


def _log_admin(
    conn: psycopg.Connection[Any], by: Actor | None, event: str, target: str, **extra: object
) -> None:
    record_operation(
        conn,
        by,
        function=Function.OPERATOR_ADMIN,
        file=None,
        outcome=Outcome.ALLOW,
        target=target,
        detail={"event": event, **extra},
        system=None if by else SYSTEM_CONSOLE,
    )


def _guard_admin(
    conn: psycopg.Connection[Any], body: Callable[[], Any], by: Actor | None, event: str, target: str
) -> Any:
    return guarded(
        conn,
        body,
        actor=by,
        function=Function.OPERATOR_ADMIN,
        event=event,
        target=target,
        system=None if by else SYSTEM_CONSOLE,
    )


def _insert_operator(conn: psycopg.Connection[Any], login: str, display_name: str, by: Actor | None) -> int:
    clean_login = normalize_login(login)
    name = display_name.strip()
    if not 1 <= len(name) <= 64:
        raise Refusal("T_NAME_INVALID")
    if conn.execute("SELECT 1 FROM term.operators WHERE login = %s", (clean_login,)).fetchone():
        raise Refusal("T_OPERATOR_EXISTS", clean_login)
    row = conn.execute(
        """INSERT INTO term.operators (login, display_name, webauthn_user_handle, created_by)
           VALUES (%s, %s, %s, %s) RETURNING id""",
        (clean_login, name, secrets.token_bytes(32), _by(by)),
    ).fetchone()
    assert row is not None
    operator_id = int(row[0])
    conn.execute("INSERT INTO term.sign_in_state (operator_id) VALUES (%s)", (operator_id,))
    return operator_id


def create_operator(
    conn: psycopg.Connection[Any], settings: Settings, login: str, display_name: str, *, by: Actor | None
) -> tuple[Operator, str]:
    """Register an operator (no roles yet); returns them and a one-time enrolment token (shown once).

    `by` is the administrator (operator_admin), or None for the server console. Roles come only from
    the rights ledger (`rights_ledger.apply` → `rights_ledger.approve`).
    """

    def body() -> tuple[Operator, str]:
        permissions.require(by, Function.OPERATOR_ADMIN)
        operator_id = _insert_operator(conn, login, display_name, by)
        token = tokens.issue(
            conn,
            "enrol_operator",
            seconds=settings.one_time_token_seconds,
            created_by=_by(by),
            operator_id=operator_id,
        )
        operator = get_operator(conn, operator_id)
        _log_admin(conn, by, "operator_create", operator.login, operator=operator_id)
        return operator, token

    result: tuple[Operator, str] = _guard_admin(conn, body, by, "operator_create", login)
    return result


def issue_enrolment_token(
    conn: psycopg.Connection[Any], settings: Settings, operator: int | str, *, by: Actor | None
) -> str:
    """A new one-time enrolment link token for an operator (a new key, a forgotten password).

    Earlier unused links of the operator stop working.
    """

    def body() -> str:
        permissions.require(by, Function.OPERATOR_ADMIN)
        found = get_operator(conn, operator)
        if not found.active:
            raise Refusal("T_OPERATOR_UNKNOWN", f"{found.login} は無効化されています")
        token = tokens.issue(
            conn,
            "enrol_operator",
            seconds=settings.one_time_token_seconds,
            created_by=_by(by),
            operator_id=found.id,
        )
        _log_admin(conn, by, "operator_enrolment_link", found.login, operator=found.id)
        return token

    result: str = _guard_admin(conn, body, by, "operator_enrolment_link", str(operator))
    return result


def enrolment_operator(conn: psycopg.Connection[Any], token: str) -> tuple[Operator, bool]:
    """Whom a valid enrolment token is for, and whether they may set a password (for the page).

    Does not use the token up. T_ENROLMENT_INVALID if it is unknown, used or expired.
    """
    found = tokens.peek(conn, token, "enrol_operator")
    assert found.operator_id is not None
    operator = get_operator(conn, found.operator_id)
    if not operator.active:
        raise Refusal("T_ENROLMENT_INVALID")
    return operator, permissions.password_allowed(rights_ledger.current_roles(conn, operator.id))


def enrol_password(
    conn: psycopg.Connection[Any], token: str, password: str, *, terminal_id: int | None = None
) -> Operator:
    """Set the operator's password with an enrolment token, using the token up.

    Refused with T_PASSWORD_NOT_ALLOWED (the token stays valid, e.g. for WebAuthn) when none of the
    operator's roles allows passwords.
    """
    attempt = Attempt()

    def body() -> Operator:
        operator, allowed = enrolment_operator(conn, token)
        attempt.operator_id, attempt.operator_login = operator.id, operator.login
        if not allowed:
            raise Refusal("T_PASSWORD_NOT_ALLOWED")
        passwords.check_strength(password, operator.login)
        tokens.redeem(conn, token, "enrol_operator")
        conn.execute(
            """INSERT INTO term.password_credentials (operator_id, hash) VALUES (%s, %s)
               ON CONFLICT (operator_id) DO UPDATE SET hash = excluded.hash, set_at = now()""",
            (operator.id, passwords.hash_password(password)),
        )
        record_operation(
            conn,
            None,
            function=Function.SIGN_IN,
            file=None,
            outcome=Outcome.ALLOW,
            target=operator.login,
            detail={"event": "enrol_password", "operator": operator.id},
            claimed_login=operator.login,
            terminal_id=terminal_id,
        )
        return get_operator(conn, operator.id)

    result: Operator = guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event="enrol_password",
        terminal_id=terminal_id,
        attempt=attempt,
    )
    return result


def check_password(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal_id: int,
    operator: int | str,
    password: str,
    attempt: Attempt,
) -> Operator:
    """Verify ID + password inside the caller's transaction; raise the refusal a sign-in gets.

    The answer never depends on whether the ID exists (hardening 12): T_AUTH_FAILED for an unknown
    or disabled ID, an operator without a password, a wrong password; T_AUTH_THROTTLED /
    T_AUTH_LOCKED from `throttle.gate`, which counts IDs as typed. Exactly one Argon2 verification
    runs on every path (against a dummy hash when there is nothing real to check), so the time does
    not tell either. An empty password is not an attempt (T_PASSWORD_EMPTY, not counted).
    T_PASSWORD_NOT_ALLOWED when the password is right but none of the operator's roles allows
    passwords. A good password clears the failure counts and is rehashed if the parameters changed.
    """
    if not password:
        raise Refusal("T_PASSWORD_EMPTY")
    found = _find(conn, operator)
    if found is not None:
        attempt.operator_id, attempt.operator_login = found.id, found.login
    key = throttle.login_key(conn, found.login if found is not None else str(operator))
    row = (
        conn.execute(
            "SELECT hash FROM term.password_credentials WHERE operator_id = %s", (found.id,)
        ).fetchone()
        if found is not None and found.active
        else None
    )
    stop = throttle.gate(
        conn, settings, terminal_id, key, operator_locked=found is not None and found.locked_at is not None
    )
    stored = str(row[0]) if row is not None and stop is None else None
    matches = passwords.verify_password(stored or passwords.dummy_hash(), password)
    if stop is not None:
        raise stop
    if found is None or stored is None or not matches:
        raise Refusal("T_AUTH_FAILED")
    if not permissions.password_allowed(rights_ledger.current_roles(conn, found.id)):
        raise Refusal("T_PASSWORD_NOT_ALLOWED")
    if passwords.needs_rehash(stored):
        conn.execute(
            "UPDATE term.password_credentials SET hash = %s WHERE operator_id = %s",
            (passwords.hash_password(password), found.id),
        )
    record_success(conn, found)
    return found


def record_success(conn: psycopg.Connection[Any], operator: Operator) -> None:
    """A successful authentication ends the ID's consecutive failures, at every terminal."""
    conn.execute(
        """UPDATE term.sign_in_state SET consecutive_failures = 0, last_success_at = now()
           WHERE operator_id = %s""",
        (operator.id,),
    )
    throttle.clear(conn, throttle.login_key(conn, operator.login))


def failure_handler(
    conn: psycopg.Connection[Any],
    settings: Settings,
    attempt: Attempt,
    *,
    terminal_id: int | None = None,
    login: str | None = None,
    session_id: int | None = None,
    count_failures: bool = True,
) -> Callable[[Refusal], tuple[Refusal, Mapping[str, object] | None]]:
    """The `on_refusal` of a sign-in: count the failure for the ID typed at this terminal.

    Runs in the transaction that logs the refusal, so the count is committed with the log row even
    though the sign-in itself is refused. The counting (`throttle.record_failure`) is the same
    whether the ID exists or not: the attempt that reaches the threshold at this terminal is
    answered T_AUTH_THROTTLED; the one that makes `lockout_terminals` terminals reach it locks the
    ID (for an operator: `sign_in_state.locked_at`, and their open sessions end) and is answered
    T_AUTH_LOCKED. At a lock screen (`session_id`) throttling also ends that session: whoever is
    guessing there must sign in again. A used WebAuthn challenge stays used. With `count_failures`
    False (enrolment) only the challenge is kept used.
    """

    def handle(refusal: Refusal) -> tuple[Refusal, Mapping[str, object] | None]:
        if attempt.challenge_id is not None:
            conn.execute(
                "UPDATE term.webauthn_challenges SET used_at = coalesce(used_at, now()) WHERE id = %s",
                (attempt.challenge_id,),
            )
        if not count_failures or refusal.code not in AUTH_FAILURES or terminal_id is None or not login:
            return refusal, None
        led_to, failures = throttle.record_failure(
            conn, settings, terminal_id, throttle.login_key(conn, login)
        )
        found = _find(conn, login)
        if found is not None:
            conn.execute(
                """UPDATE term.sign_in_state
                   SET consecutive_failures = consecutive_failures + 1, last_failure_at = now()
                   WHERE operator_id = %s""",
                (found.id,),
            )
        detail: dict[str, object] = {"failures": failures}
        if led_to is not None and session_id is not None:
            conn.execute(
                """UPDATE term.sessions SET ended_at = now(), end_reason = 'lockout'
                   WHERE id = %s AND ended_at IS NULL""",
                (session_id,),
            )
        if led_to == "throttled":
            return Refusal("T_AUTH_THROTTLED"), {**detail, "throttled": True}
        if led_to != "locked":
            return refusal, detail
        detail["locked"] = True
        if found is not None:
            conn.execute(
                "UPDATE term.sign_in_state SET locked_at = coalesce(locked_at, now()) WHERE operator_id = %s",
                (found.id,),
            )
            detail["sessions_ended"] = end_open_sessions(conn, reason="lockout", operator_id=found.id)
        return Refusal("T_AUTH_LOCKED"), detail

    return handle


def change_password(
    conn: psycopg.Connection[Any], settings: Settings, actor: Actor, old_password: str, new_password: str
) -> None:
    """The signed-in operator changes their own password: the current one is required.

    Refusals: T_PASSWORD_NOT_ALLOWED (none of their roles allows a password), T_PASSWORD_WEAK (the
    policy of `passwords.check_strength`), T_PASSWORD_SAME, T_PASSWORD_EMPTY; a wrong current
    password is T_AUTH_FAILED and counts towards the throttle like a sign-in failure at this
    terminal (somebody at an unlocked screen must not be able to guess it). Logged (sign_in,
    event password_change) with the session's operator; the password itself never is.
    """
    attempt = Attempt()

    def body() -> None:
        if not permissions.password_allowed(rights_ledger.current_roles(conn, actor.operator_id)):
            raise Refusal("T_PASSWORD_NOT_ALLOWED")
        if not old_password:
            raise Refusal("T_PASSWORD_EMPTY")
        passwords.check_strength(new_password, actor.login)
        if new_password == old_password:
            raise Refusal("T_PASSWORD_SAME")
        check_password(conn, settings, actor.terminal_id, actor.operator_id, old_password, attempt)
        conn.execute(
            "UPDATE term.password_credentials SET hash = %s, set_at = now() WHERE operator_id = %s",
            (passwords.hash_password(new_password), actor.operator_id),
        )
        record_operation(
            conn,
            actor,
            function=Function.SIGN_IN,
            file=None,
            outcome=Outcome.ALLOW,
            target=actor.login,
            detail={"event": "password_change", "operator": actor.operator_id},
        )

    # A refusal is logged like a failed sign-in (the login claimed at this terminal), not through
    # the session: the failure that locks the ID ends the operator's sessions, this one included,
    # in the very transaction that logs it — a session-bound row could not be written then, and the
    # count would be lost with it.
    guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event="password_change",
        target=actor.login,
        claimed_login=actor.login,
        terminal_id=actor.terminal_id if actor.system is None else None,
        system=actor.system,
        attempt=attempt,
        on_refusal=failure_handler(conn, settings, attempt, terminal_id=actor.terminal_id, login=actor.login),
    )


def unlock_operator(conn: psycopg.Connection[Any], operator: int | str, *, by: Actor | None) -> Operator:
    """Lift a lockout and reset the failure count (an administrator, after checking with the operator)."""

    def body() -> Operator:
        permissions.require(by, Function.OPERATOR_ADMIN)
        found = get_operator(conn, operator)
        conn.execute(
            "UPDATE term.sign_in_state SET locked_at = NULL, consecutive_failures = 0 WHERE operator_id = %s",
            (found.id,),
        )
        throttle.unlock(conn, throttle.login_key(conn, found.login))
        _log_admin(
            conn,
            by,
            "operator_unlock",
            found.login,
            operator=found.id,
            was_locked=found.locked_at is not None,
        )
        return get_operator(conn, found.id)

    result: Operator = _guard_admin(conn, body, by, "operator_unlock", str(operator))
    return result


def disable_operator(conn: psycopg.Connection[Any], operator: int | str, *, by: Actor | None) -> int:
    """Disable an operator (retirement, transfer): no sign-in, open sessions end, links expire.

    Their grants stay in the ledger until revoked (S-09 wants each revocation recorded) but confer
    nothing meanwhile (`rights_ledger.current_roles`). Disabling the last enabled administrator is refused.
    Returns the number of sessions ended.
    """

    def body() -> int:
        permissions.require(by, Function.OPERATOR_ADMIN)
        found = get_operator(conn, operator)
        if not found.active:
            raise Refusal("T_OPERATOR_UNKNOWN", f"{found.login} は無効化済みです")
        if permissions.ADMIN_ROLE in rights_ledger.current_roles(conn, found.id):
            others = conn.execute(
                """SELECT count(*) FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
                   WHERE g.role = %s AND g.revoked_at IS NULL AND o.disabled_at IS NULL AND o.id <> %s""",
                (permissions.ADMIN_ROLE, found.id),
            ).fetchone()
            if others is None or int(others[0]) == 0:
                raise Refusal("T_RIGHTS_LAST_ADMIN")
        conn.execute(
            "UPDATE term.operators SET disabled_at = now(), disabled_by = %s WHERE id = %s",
            (_by(by), found.id),
        )
        # Logged before the sessions end (the log takes who acts from the acting session).
        ended = open_sessions(conn, operator_id=found.id)
        _log_admin(conn, by, "operator_disable", found.login, operator=found.id, sessions_ended=ended)
        return end_open_sessions(conn, reason="operator_disabled", operator_id=found.id, expire_tokens=True)

    result: int = _guard_admin(conn, body, by, "operator_disable", str(operator))
    return result


def console_actor(conn: psycopg.Connection[Any], login: str) -> Actor:
    """The Actor of an operator at the server console, for setup code and tests (the demo's
    bootstrap grants). No command takes it from the command line any more (hardening 13): an
    identity named there is not authenticated.

    The console is not a registered terminal: terminal id 0, name "(console)". The roles are the
    operator's current roles, so the matrix and the four-eyes rule apply as at a terminal.
    """
    found = get_operator(conn, login)
    if not found.active:
        raise Refusal("T_OPERATOR_UNKNOWN", f"{found.login} は無効化されています")
    return Actor(
        operator_id=found.id,
        login=found.login,
        roles=rights_ledger.current_roles(conn, found.id),
        terminal_id=0,
        terminal_name=CONSOLE,
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        system=SYSTEM_CONSOLE,
    )


class Bootstrap(NamedTuple):
    """What `bootstrap_first_admin` hands to whoever starts the system (the tokens are shown once)."""

    operator: Operator
    enrolment_token: str
    binding_token: str  # for the 代表端末 named in the call


def bootstrap_first_admin(
    conn: psycopg.Connection[Any],
    settings: Settings,
    login: str,
    *,
    display_name: str = "システム管理者",
    terminal_name: str = "代表端末",
    os_user: str | None = None,
) -> Bootstrap:
    """Create the first administrator, with the admin role granted, and a 代表端末 to work at.

    Nobody can approve the first administrator's application, so the grant is recorded in the
    ledger as a bootstrap grant. Refused (T_BOOTSTRAP_DONE) once an enabled administrator exists, so
    running it again is harmless. If the terminal is already registered (an earlier bootstrap whose
    administrator was later disabled), it gets a fresh binding token instead. Logged on the
    operation log's bootstrap channel (actor_kind ``system:bootstrap``) with `os_user`, the account
    that ran the console command, as the claimed login: juki cannot authenticate it, but the log
    says who the operating system says it was.
    """

    def body() -> Bootstrap:
        if rights_ledger.admin_exists(conn):
            raise Refusal("T_BOOTSTRAP_DONE")
        operator_id = _insert_operator(conn, login, display_name, None)
        grant_id = rights_ledger.grant_bootstrap_admin(conn, operator_id)
        enrolment = tokens.issue(
            conn,
            "enrol_operator",
            seconds=settings.one_time_token_seconds,
            created_by=CONSOLE,
            operator_id=operator_id,
        )
        existing = conn.execute(
            "SELECT 1 FROM term.terminals WHERE name = %s AND retired_at IS NULL", (terminal_name.strip(),)
        ).fetchone()
        if existing is None:
            terminal, binding = register_terminal(
                conn, settings, terminal_name, TerminalKind.REPRESENTATIVE, bulk_enabled=False, by=None
            )
        else:
            binding = issue_binding_token(conn, settings, terminal_name.strip(), by=None)
            terminal = get_terminal(conn, terminal_name.strip())
        operator = get_operator(conn, operator_id)
        record_operation(
            conn,
            None,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=operator.login,
            detail={
                "event": "rights_bootstrap",
                "operator": operator_id,
                "role": permissions.ADMIN_ROLE,
                "grant": grant_id,
                "terminal": terminal.name,
                "os_user": os_user,
            },
            system=SYSTEM_BOOTSTRAP,
            claimed_login=os_user,
        )
        return Bootstrap(operator, enrolment, binding)

    result: Bootstrap = guarded(
        conn,
        body,
        actor=None,
        function=Function.RIGHTS_ADMIN,
        event="rights_bootstrap",
        target=login,
        system=SYSTEM_BOOTSTRAP,
        claimed_login=os_user,
    )
    return result
