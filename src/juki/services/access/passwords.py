"""Operator passwords: Argon2id hashes (argon2-cffi), verified in constant time, rehashed on change.

Argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile: 64 MiB, t=3, p=4):
slow and memory-hard for an attacker holding a copy of the table, fast enough for a sign-in. The
parameters live in the PHC string of each hash, so raising them later only needs `needs_rehash`
after a successful sign-in — no flag day.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from juki.domain.refusals import Refusal

__all__ = ["MIN_LENGTH", "check_strength", "dummy_hash", "hash_password", "needs_rehash", "verify_password"]

#: Minimum length of a new password (characters).
MIN_LENGTH = 12


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def check_strength(password: str, login: str) -> None:
    """Refuse (T_PASSWORD_WEAK) a password too short or equal to the login."""
    if len(password) < MIN_LENGTH or password.strip().lower() == login.lower():
        raise Refusal("T_PASSWORD_WEAK")


def hash_password(password: str) -> str:
    """The Argon2id PHC string of `password` (random salt)."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash`; a malformed hash verifies nothing."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash after a good sign-in)."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash that matches no password anybody types: verified instead of a real one when there is
    none (unknown, disabled, locked or throttled ID), so every answer costs one Argon2 verification."""
    return hash_password("juki: no such operator, the same work as a real check")
