"""Terminal sessions: sign-in, the Actor of each request, idle lock and sign-out (S-01..S-04, S-07).

A session is a database row, not a signed cookie: the browser holds a random secret, the row its
hash, so the server can end a session at once (sign-out, revocation of a right, lockout, a retired
terminal) and every request sees that. `resolve` builds the request's `Actor` from the session and
the rights ledger *as it is now*, so a revoked role is gone from the very next request.

A session belongs to one terminal and one sign-in method. A password session carries only the
operator's password-allowed roles (data/permissions.toml): roles that touch personal data need
生体認証 (S-01), so they come only with a WebAuthn session.

Idle lock (S-04, the "screen saver"): a session unused for `Settings.idle_lock_seconds` is locked;
only the same operator, authenticating again with the session's method, unlocks it. Sign-in
success and failure, lockout, idle lock, unlock and sign-out are all written to the operation log
(function sign_in); failures are committed even though the sign-in is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, permissions, rights_ledger, throttle, tokens, webauthn_auth
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.terminals import Terminal
from juki.services.audit.guard import Attempt, guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "SessionInfo",
    "SignedIn",
    "end_notice",
    "info",
    "lock",
    "remember_return_path",
    "resolve",
    "return_path",
    "sign_in_password",
    "sign_in_webauthn",
    "sign_out",
    "take_notice",
    "unlock_password",
    "unlock_webauthn",
    "unlock_webauthn_options",
    "webauthn_sign_in_options",
]

AuthMethod = Literal["password", "webauthn"]


@dataclass(frozen=True)
class SignedIn:
    """A new session: put `secret` in an HttpOnly, Secure, SameSite=Strict cookie; never log it."""

    secret: str
    actor: Actor


@dataclass(frozen=True)
class SessionInfo:
    """What the lock screen and the header need to know about a session (no secret in it)."""

    id: int
    operator_id: int
    login: str
    display_name: str
    terminal_id: int
    auth_method: AuthMethod
    created_at: datetime
    last_activity_at: datetime
    locked: bool
    ended_at: datetime | None
    end_reason: str | None
    locked_at: datetime | None = None
    notice: str | None = None  # told once on the session's next page (`take_notice`)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_INFO = """SELECT s.id, s.operator_id, o.login, o.display_name, s.terminal_id, s.auth_method, s.created_at,
                  s.last_activity_at, s.locked_at IS NOT NULL, s.ended_at, s.end_reason, s.locked_at, s.notice
           FROM term.sessions s JOIN term.operators o ON o.id = s.operator_id
           WHERE s.secret_hash = %s"""


def info(conn: psycopg.Connection[Any], secret: str | None) -> SessionInfo | None:
    """The session of this secret, whatever its state, or None. Does not touch or lock it."""
    if not secret:
        return None
    row = conn.execute(_INFO, (tokens.digest(secret),)).fetchone()
    return SessionInfo(*row) if row else None


def _actor(
    conn: psycopg.Connection[Any],
    session_id: int,
    operator_id: int,
    login: str,
    method: str,
    terminal: Terminal,
    secret: str,
) -> Actor:
    roles = rights_ledger.current_roles(conn, operator_id)
    if method == "password":
        roles = permissions.password_roles(roles)
    return Actor(
        operator_id=operator_id,
        login=login,
        roles=roles,
        terminal_id=terminal.id,
        terminal_name=terminal.name,
        terminal_kind=terminal.kind,
        bulk_enabled=terminal.bulk_enabled,
        session_id=str(session_id),
        session_secret=secret,
    )


def _log(conn: psycopg.Connection[Any], actor: Actor, event: str, **extra: object) -> None:
    record_operation(
        conn,
        actor,
        function=Function.SIGN_IN,
        file=None,
        outcome=Outcome.ALLOW,
        target=actor.login,
        detail={"event": event, **extra},
    )


def _open(
    conn: psycopg.Connection[Any], operator: operators.Operator, terminal: Terminal, method: AuthMethod
) -> SignedIn:
    secret = tokens.new_secret()
    notice = _revoked_since_last_session(conn, operator.id)
    row = conn.execute(
        """INSERT INTO term.sessions (secret_hash, operator_id, terminal_id, auth_method, notice)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (tokens.digest(secret), operator.id, terminal.id, method, notice),
    ).fetchone()
    assert row is not None
    actor = _actor(conn, int(row[0]), operator.id, operator.login, method, terminal, secret)
    _log(conn, actor, "sign_in", method=method, roles=sorted(actor.roles))
    return SignedIn(secret, actor)


def _revocations(conn: psycopg.Connection[Any], operator_id: int, where: str, at: datetime | None) -> str:
    """The operator's grants revoked (`where` on g.revoked_at) as 「role」（理由: …）, or ""."""
    rows = conn.execute(
        f"""SELECT g.role, g.revoke_reason FROM term.rights_grants g
            WHERE g.operator_id = %s AND g.revoked_at IS NOT NULL AND {where}
            ORDER BY g.revoked_at, g.id""",
        (operator_id, at),
    ).fetchall()
    known = permissions.matrix().roles
    return "、".join(f"「{known[r[0]].label if r[0] in known else r[0]}」（理由: {r[1]}）" for r in rows)


def _revoked_since_last_session(conn: psycopg.Connection[Any], operator_id: int) -> str | None:
    """What to tell an operator signing in: rights revoked since their previous session (whether or
    not it was open then), with the reasons the administrators gave."""
    last = conn.execute(
        """SELECT max(coalesce(ended_at, last_activity_at)) FROM term.sessions WHERE operator_id = %s""",
        (operator_id,),
    ).fetchone()
    since = last[0] if last is not None else None
    if since is None:
        return None
    revoked = _revocations(conn, operator_id, "g.revoked_at >= %s", since)
    return (
        f"前回のサインインの後、あなたの権限 {revoked} が管理者により取り消されました。" if revoked else None
    )


def take_notice(conn: psycopg.Connection[Any], session: SessionInfo) -> str | None:
    """The session's notice, cleared so it is shown once (None when there is none)."""
    if not session.notice:
        return None
    row = conn.execute(
        """UPDATE term.sessions s SET notice = NULL FROM term.sessions old
           WHERE s.id = %s AND old.id = s.id AND old.notice IS NOT NULL RETURNING old.notice""",
        (session.id,),
    ).fetchone()
    return str(row[0]) if row is not None else None


def _sign_in(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    login: str,
    attempt: Attempt,
    event: str,
    body: Callable[[], SignedIn],
) -> SignedIn:
    result: SignedIn = guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event=event,
        target=login,
        claimed_login=login,
        terminal_id=terminal.id,
        attempt=attempt,
        on_refusal=operators.failure_handler(conn, settings, attempt, terminal_id=terminal.id, login=login),
    )
    return result


def sign_in_password(
    conn: psycopg.Connection[Any], settings: Settings, terminal: Terminal, login: str, password: str
) -> SignedIn:
    """ID + password sign-in (S-02) at a registered terminal.

    Refusals: T_PASSWORD_EMPTY (not counted), T_AUTH_FAILED, T_AUTH_THROTTLED (this terminal failed
    too often for this ID), T_AUTH_LOCKED, T_PASSWORD_NOT_ALLOWED (none of the operator's roles
    allows passwords) — the same answers whether the ID exists or not (`throttle`).
    """
    attempt = Attempt()

    def body() -> SignedIn:
        operator = operators.check_password(conn, settings, terminal.id, login, password, attempt)
        return _open(conn, operator, terminal, "password")

    return _sign_in(conn, settings, terminal, login, attempt, "sign_in_password", body)


def webauthn_sign_in_options(
    conn: psycopg.Connection[Any], settings: Settings, terminal: Terminal, login: str
) -> webauthn_auth.Ceremony:
    """Step 1 of a 生体認証 sign-in: options for navigator.credentials.get() for the ID typed."""
    return webauthn_auth.authentication_options(conn, settings, terminal, login)


def sign_in_webauthn(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    login: str,
    credential: webauthn_auth.Credential,
) -> SignedIn:
    """Step 2 of a 生体認証 sign-in (S-01, S-02): verify the assertion for the ID typed in step 1.

    Refusals: T_WEBAUTHN_FAILED, T_WEBAUTHN_UV_REQUIRED (the authenticator did not verify the
    user), T_AUTH_THROTTLED, T_AUTH_LOCKED — decided for the ID typed, existing or not.
    """
    attempt = Attempt()

    def body() -> SignedIn:
        try:
            found: operators.Operator | None = operators.get_operator(conn, login)
        except Refusal:
            found = None
        if found is not None:
            attempt.operator_login = found.login
        stop = throttle.gate(
            conn,
            settings,
            terminal.id,
            throttle.login_key(conn, login),
            operator_locked=found is not None and found.locked_at is not None,
        )
        if stop is not None:
            raise stop
        operator = webauthn_auth.check_assertion(
            conn,
            settings,
            terminal,
            credential,
            attempt,
            purpose="authenticate",
            operator_id=found.id if found is not None else None,
        )
        return _open(conn, operator, terminal, "webauthn")

    return _sign_in(conn, settings, terminal, login, attempt, "sign_in_webauthn", body)


def resolve(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    secret: str | None,
    *,
    touch: bool = True,
) -> Actor:
    """The Actor of a request: the session's operator at `terminal`, with the roles granted now.

    Refusals: T_SESSION_REQUIRED (no such session, or another terminal's), T_SESSION_ENDED,
    T_SESSION_LOCKED (locked, or idle for longer than `idle_lock_seconds`: then it is locked now,
    and that is logged and committed). With `touch` the request counts as activity.
    """
    if not secret:
        raise Refusal("T_SESSION_REQUIRED")
    refusal: Refusal | None = None
    actor: Actor | None = None
    with conn.transaction():
        row = conn.execute(
            """SELECT s.id, s.operator_id, o.login, s.terminal_id, s.auth_method, s.locked_at IS NOT NULL,
                      s.ended_at IS NOT NULL,
                      now() - s.last_activity_at > make_interval(secs => %s)
               FROM term.sessions s JOIN term.operators o ON o.id = s.operator_id
               WHERE s.secret_hash = %s FOR UPDATE OF s""",
            (settings.idle_lock_seconds, tokens.digest(secret)),
        ).fetchone()
        if row is None or int(row[3]) != terminal.id:
            refusal = Refusal("T_SESSION_REQUIRED")
        elif row[6]:
            refusal = Refusal("T_SESSION_ENDED")
        elif row[5]:
            refusal = Refusal("T_SESSION_LOCKED")
        else:
            session_id, operator_id, login, method = int(row[0]), int(row[1]), str(row[2]), str(row[4])
            actor = _actor(conn, session_id, operator_id, login, method, terminal, secret)
            if row[7]:
                conn.execute(
                    "UPDATE term.sessions SET locked_at = now(), return_path = NULL WHERE id = %s",
                    (session_id,),
                )
                _log(conn, actor, "idle_lock", idle_lock_seconds=settings.idle_lock_seconds)
                refusal = Refusal("T_SESSION_LOCKED")
            elif touch:
                conn.execute("UPDATE term.sessions SET last_activity_at = now() WHERE id = %s", (session_id,))
    if refusal is not None:
        raise refusal
    assert actor is not None
    return actor


def lock(
    conn: psycopg.Connection[Any], terminal: Terminal, secret: str | None, *, return_path: str | None = None
) -> None:
    """Lock the session now (the operator leaves the desk: 離席 / 画面ロック). Unknown sessions are
    ignored. `return_path` — an internal path the caller has checked — is where unlocking returns."""
    with conn.transaction():
        found = info(conn, secret)
        if found is None or found.ended_at is not None or found.locked or found.terminal_id != terminal.id:
            return
        assert secret is not None
        conn.execute(
            "UPDATE term.sessions SET locked_at = now(), return_path = %s WHERE id = %s",
            (return_path, found.id),
        )
        actor = _actor(conn, found.id, found.operator_id, found.login, found.auth_method, terminal, secret)
        _log(conn, actor, "manual_lock")


def remember_return_path(
    conn: psycopg.Connection[Any], terminal: Terminal, secret: str | None, path: str
) -> None:
    """A locked session's page was asked for (the server's idle lock): unlocking returns there,
    unless a path was already kept when it locked. `path` must be an internal path the caller checked."""
    found = info(conn, secret)
    if found is None or found.terminal_id != terminal.id or found.ended_at is not None or not found.locked:
        return
    conn.execute(
        "UPDATE term.sessions SET return_path = coalesce(return_path, %s) WHERE id = %s", (path, found.id)
    )


def return_path(conn: psycopg.Connection[Any], terminal: Terminal, secret: str | None) -> str | None:
    """Where an unlocked session goes back to (kept server side when it locked), or None."""
    if not secret:
        return None
    row = conn.execute(
        "SELECT return_path FROM term.sessions WHERE secret_hash = %s AND terminal_id = %s",
        (tokens.digest(secret), terminal.id),
    ).fetchone()
    return str(row[0]) if row is not None and row[0] is not None else None


_END_NOTICES = {
    "sign_out": None,
    "operator_disabled": "操作者IDが管理者により無効化されたため、セッションを終了しました。",
    "terminal_retired": "この端末が廃止されたため、セッションを終了しました。",
    "lockout": "認証の失敗が続いたため、セッションを終了しました。",
}


def end_notice(conn: psycopg.Connection[Any], secret: str | None) -> str | None:
    """Why the session of `secret` was ended by somebody else, for its operator's next page.

    For a revoked right it names the role and the reason the administrator gave (kept in
    term.rights_grants and the ledger): the operator must learn why their work stopped. None for a
    sign-out, an open session or an unknown secret. The revocation ends the sessions in its own
    transaction, so their ended_at is the grant's revoked_at (both now()).
    """
    found = info(conn, secret)
    if found is None or found.ended_at is None or found.end_reason is None:
        return None
    if found.end_reason != "rights_revoked":
        return _END_NOTICES.get(found.end_reason)
    what = _revocations(conn, found.operator_id, "g.revoked_at = %s", found.ended_at) or "権限"
    return f"あなたの権限 {what} が管理者により取り消されたため、セッションを終了しました。"


def _session_to_unlock(conn: psycopg.Connection[Any], terminal: Terminal, secret: str | None) -> SessionInfo:
    found = info(conn, secret)
    if found is None or found.terminal_id != terminal.id:
        raise Refusal("T_SESSION_REQUIRED")
    if found.ended_at is not None:
        raise Refusal("T_SESSION_ENDED")
    return found


def _unlocked(conn: psycopg.Connection[Any], found: SessionInfo, terminal: Terminal, secret: str) -> Actor:
    conn.execute(
        "UPDATE term.sessions SET locked_at = NULL, last_activity_at = now() WHERE id = %s", (found.id,)
    )
    actor = _actor(conn, found.id, found.operator_id, found.login, found.auth_method, terminal, secret)
    _log(conn, actor, "unlock", method=found.auth_method)
    return actor


def _unlock(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    secret: str | None,
    attempt: Attempt,
    event: str,
    body: Callable[[], Actor],
) -> Actor:
    known = info(conn, secret)
    login = known.login if known is not None else None
    counted = known is not None and known.terminal_id == terminal.id
    result: Actor = guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event=event,
        target=login,
        claimed_login=login,
        terminal_id=terminal.id,
        attempt=attempt,
        on_refusal=operators.failure_handler(
            conn,
            settings,
            attempt,
            terminal_id=terminal.id,
            login=login if counted else None,
            session_id=known.id if known is not None and counted else None,
        ),
    )
    return result


def unlock_password(
    conn: psycopg.Connection[Any], settings: Settings, terminal: Terminal, secret: str | None, password: str
) -> Actor:
    """Unlock an idle-locked password session with the same operator's password (S-04).

    A WebAuthn session is unlocked only by WebAuthn (T_PASSWORD_NOT_ALLOWED): a password must not
    bring back roles that need 生体認証. Failures count towards the lockout, which ends the session.
    """
    attempt = Attempt()

    def body() -> Actor:
        found = _session_to_unlock(conn, terminal, secret)
        attempt.operator_id, attempt.operator_login = found.operator_id, found.login
        if found.auth_method != "password":
            raise Refusal("T_PASSWORD_NOT_ALLOWED")
        operators.check_password(conn, settings, terminal.id, found.operator_id, password, attempt)
        assert secret is not None  # _session_to_unlock found its session
        return _unlocked(conn, found, terminal, secret)

    return _unlock(conn, settings, terminal, secret, attempt, "unlock_password", body)


def unlock_webauthn_options(
    conn: psycopg.Connection[Any], settings: Settings, terminal: Terminal, secret: str | None
) -> webauthn_auth.Ceremony:
    """Step 1 of unlocking with 生体認証: options bound to this session's operator and the session."""
    found = _session_to_unlock(conn, terminal, secret)
    return webauthn_auth.unlock_options(
        conn, settings, terminal, operator_id=found.operator_id, session_id=found.id
    )


def unlock_webauthn(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    secret: str | None,
    credential: webauthn_auth.Credential,
) -> Actor:
    """Step 2: unlock the session with the same operator's authenticator (either session method)."""
    attempt = Attempt()

    def body() -> Actor:
        found = _session_to_unlock(conn, terminal, secret)
        attempt.operator_login = found.login
        webauthn_auth.check_assertion(
            conn,
            settings,
            terminal,
            credential,
            attempt,
            purpose="unlock",
            operator_id=found.operator_id,
            session_id=found.id,
        )
        assert secret is not None  # _session_to_unlock found its session
        return _unlocked(conn, found, terminal, secret)

    return _unlock(conn, settings, terminal, secret, attempt, "unlock_webauthn", body)


def sign_out(conn: psycopg.Connection[Any], terminal: Terminal, secret: str | None) -> None:
    """End the session (サインアウト). Works on a locked session too; unknown sessions are ignored."""
    with conn.transaction():
        found = info(conn, secret)
        if found is None or found.ended_at is not None or found.terminal_id != terminal.id:
            return
        assert secret is not None
        # Logged first: the log takes the operator from the session, which must still be live.
        actor = _actor(conn, found.id, found.operator_id, found.login, found.auth_method, terminal, secret)
        _log(conn, actor, "sign_out")
        conn.execute(
            "UPDATE term.sessions SET ended_at = now(), end_reason = 'sign_out' WHERE id = %s", (found.id,)
        )
