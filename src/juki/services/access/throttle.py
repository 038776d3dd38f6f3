"""Sign-in failures per terminal and per ID typed (hardening 12; REQUIREMENTS S-02).

Two things used to leak or hurt: the answers (and their timing) told whether an ID exists, and
five failures from any terminal locked any operator until an administrator stepped in. Here:

* **The ID is what was typed, not an operator.** Failures are counted under the HMAC of the login
  as typed (normalised) with a server secret (`term.sign_in_secret`, made by migration 0017), so an
  ID that does not exist is counted, throttled and locked exactly like one that does. Nothing in
  the answers depends on `term.operators`.
* **One terminal can only throttle itself.** `Settings.lockout_threshold` consecutive failures for
  an ID at one terminal throttle *that terminal for that ID* for `Settings.throttle_seconds`
  (T_AUTH_THROTTLED: every attempt is refused, even with the right password; after the wait the
  next failure throttles again at once). Other terminals, and the operator at their own desk, are
  not affected.
* **The ID lock needs several terminals.** The ID itself is locked (T_AUTH_LOCKED, until an
  administrator unlocks it; the operator's sessions end) only when `Settings.lockout_terminals`
  terminals (default 2) have each reached the threshold for it: a guessing attack spread over
  terminals, which the administrator must look at. Terminals are registered devices inside the
  closed network, so an attacker cannot make up new ones.
* A good authentication clears the ID's counts at every terminal.

An empty password is not an attempt at all (T_PASSWORD_EMPTY, not counted): pressing Enter after
the ID on the sign-in page must not count against an operator — least of all one who has no
password.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import psycopg

from juki.config import Settings
from juki.domain.refusals import Refusal

__all__ = ["clear", "fake_credential_ids", "gate", "login_key", "record_failure", "unlock"]


def _secret(conn: psycopg.Connection[Any]) -> bytes:
    row = conn.execute("SELECT key FROM term.sign_in_secret").fetchone()
    assert row is not None, "migration 0017 makes the secret"
    return bytes(row[0])


def login_key(conn: psycopg.Connection[Any], login: str) -> bytes:
    """The key failures are counted under: HMAC-SHA256 of the login as typed, normalised."""
    return hmac.new(_secret(conn), b"login:" + login.strip().lower().encode(), hashlib.sha256).digest()


def fake_credential_ids(conn: psycopg.Connection[Any], login: str, count: int, length: int) -> list[bytes]:
    """Stand-in WebAuthn credential IDs for an ID with no usable credential: derived from the ID and
    the server secret, so they are the same on every request and cannot be told from real ones."""
    secret = _secret(conn)
    out: list[bytes] = []
    for n in range(count):
        stream = b""
        block = 0
        while len(stream) < length:
            message = f"credential:{n}:{block}:".encode() + login.strip().lower().encode()
            stream += hmac.new(secret, message, hashlib.sha256).digest()
            block += 1
        out.append(stream[:length])
    return out


def gate(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal_id: int,
    key: bytes,
    *,
    operator_locked: bool = False,
) -> Refusal | None:
    """The refusal an attempt gets before any credential is looked at, or None.

    T_AUTH_LOCKED when the ID is locked (or the operator was locked before migration 0017),
    T_AUTH_THROTTLED when this terminal is waiting for this ID. The caller still spends the time
    of a credential check, and raises the refusal afterwards.
    """
    if (
        operator_locked
        or conn.execute("SELECT 1 FROM term.sign_in_locks WHERE login_key = %s", (key,)).fetchone()
    ):
        return Refusal("T_AUTH_LOCKED")
    throttled = conn.execute(
        """SELECT 1 FROM term.sign_in_failures
           WHERE login_key = %s AND terminal_id = %s AND failures >= %s
             AND last_failure_at > now() - make_interval(secs => %s)""",
        (key, terminal_id, settings.lockout_threshold, settings.throttle_seconds),
    ).fetchone()
    return Refusal("T_AUTH_THROTTLED") if throttled else None


def record_failure(
    conn: psycopg.Connection[Any], settings: Settings, terminal_id: int, key: bytes
) -> tuple[str | None, int]:
    """Count a failed attempt; returns what it led to ("throttled", "locked" or None) and the count
    at this terminal. Runs in the transaction that logs the refusal."""
    row = conn.execute(
        """INSERT INTO term.sign_in_failures (login_key, terminal_id, failures) VALUES (%s, %s, 1)
           ON CONFLICT (login_key, terminal_id)
           DO UPDATE SET failures = term.sign_in_failures.failures + 1, last_failure_at = now()
           RETURNING failures""",
        (key, terminal_id),
    ).fetchone()
    assert row is not None
    failures = int(row[0])
    if failures < settings.lockout_threshold:
        return None, failures
    terminals = conn.execute(
        "SELECT count(*) FROM term.sign_in_failures WHERE login_key = %s AND failures >= %s",
        (key, settings.lockout_threshold),
    ).fetchone()
    if terminals is not None and int(terminals[0]) >= settings.lockout_terminals:
        conn.execute("INSERT INTO term.sign_in_locks (login_key) VALUES (%s) ON CONFLICT DO NOTHING", (key,))
        return "locked", failures
    return "throttled", failures


def clear(conn: psycopg.Connection[Any], key: bytes) -> None:
    """A good authentication: the ID's consecutive failures end, at every terminal."""
    conn.execute("DELETE FROM term.sign_in_failures WHERE login_key = %s", (key,))


def unlock(conn: psycopg.Connection[Any], key: bytes) -> bool:
    """An administrator lifts the ID lock (and the counts). Whether the ID was locked."""
    clear(conn, key)
    row = conn.execute("DELETE FROM term.sign_in_locks WHERE login_key = %s RETURNING 1", (key,)).fetchone()
    return row is not None
