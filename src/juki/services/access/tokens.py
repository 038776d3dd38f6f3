"""Random secrets and one-time tokens of the terminal side, of which the database keeps only hashes.

Session secrets, terminal secrets and one-time tokens (enrolment links, terminal binding tokens)
are 256-bit random values: SHA-256 of such a value is enough to store it (there is nothing to
brute-force, unlike a password), and a copy of the tables lets nobody in. A one-time token is shown
once, to the administrator who issued it; redeeming it is a single UPDATE, so two browsers racing
with the same token cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from juki.domain.refusals import Refusal

__all__ = ["OneTimeToken", "Purpose", "digest", "issue", "new_secret", "peek", "redeem"]

#: What a token is for; "bootstrap_admin" is the one-time grant of the second administrator
#: (`bootstrap.issue_second_admin_grant`), which names no operator or terminal.
Purpose = Literal["enrol_operator", "bind_terminal", "bootstrap_admin"]


def new_secret() -> str:
    """A fresh 256-bit random secret, URL- and cookie-safe."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What the database stores of a secret."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class OneTimeToken:
    """A valid (or just redeemed) one-time token: what it is for."""

    id: int
    purpose: Purpose
    operator_id: int | None
    terminal_id: int | None


def issue(
    conn: psycopg.Connection[Any],
    purpose: Purpose,
    *,
    seconds: int,
    created_by: str,
    operator_id: int | None = None,
    terminal_id: int | None = None,
) -> str:
    """Issue a token valid for `seconds`; earlier unused tokens for the same purpose and subject expire.

    Only the newest link works, so a link sent by mistake to the wrong person is cancelled by
    issuing another one.
    """
    if purpose == "bootstrap_admin":  # one grant at a time: a new one cancels the older ones
        conn.execute(
            """UPDATE term.one_time_tokens SET expires_at = least(expires_at, now())
               WHERE purpose = %s AND used_at IS NULL""",
            (purpose,),
        )
    else:
        subject = "operator_id" if purpose == "enrol_operator" else "terminal_id"
        subject_id = operator_id if purpose == "enrol_operator" else terminal_id
        conn.execute(
            f"""UPDATE term.one_time_tokens SET expires_at = least(expires_at, now())
                WHERE purpose = %s AND {subject} = %s AND used_at IS NULL""",
            (purpose, subject_id),
        )
    token = new_secret()
    conn.execute(
        """INSERT INTO term.one_time_tokens (token_hash, purpose, operator_id, terminal_id, created_by,
             expires_at) VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))""",
        (digest(token), purpose, operator_id, terminal_id, created_by, seconds),
    )
    return token


def peek(conn: psycopg.Connection[Any], token: str, purpose: Purpose) -> OneTimeToken:
    """The token if it is valid (unused, unexpired, of this purpose), without using it."""
    row = conn.execute(
        """SELECT id, purpose, operator_id, terminal_id FROM term.one_time_tokens
           WHERE token_hash = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()""",
        (digest(token), purpose),
    ).fetchone()
    if row is None:
        raise Refusal("T_ENROLMENT_INVALID")
    return OneTimeToken(int(row[0]), row[1], row[2], row[3])


def redeem(conn: psycopg.Connection[Any], token: str, purpose: Purpose) -> OneTimeToken:
    """Use the token up (once) and return it; T_ENROLMENT_INVALID if unknown, used or expired."""
    row = conn.execute(
        """UPDATE term.one_time_tokens SET used_at = now()
           WHERE token_hash = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()
           RETURNING id, purpose, operator_id, terminal_id""",
        (digest(token), purpose),
    ).fetchone()
    if row is None:
        raise Refusal("T_ENROLMENT_INVALID")
    return OneTimeToken(int(row[0]), row[1], row[2], row[3])
