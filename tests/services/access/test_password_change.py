"""An operator changes their own password (issue 10 item 10; S-02, S-03): the current password is
required, the policy is enforced, a wrong current password counts like a failed sign-in, and the
change is in the operation log (never the password)."""

from __future__ import annotations

import dataclasses

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, sessions
from tests.services.access.support import ADMIN_PASSWORD, Conn, System, log_rows, operator_with_roles

NEW = "a brand new passphrase 42"


def test_S02_password_change_needs_the_current_password_and_is_logged(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-02: the old password stops working, the new one signs in; one log row, no password in it."""
    operators.change_password(conn, settings, system.admin, ADMIN_PASSWORD, NEW)
    with pytest.raises(Refusal, match="T_AUTH_FAILED"):
        sessions.sign_in_password(conn, settings, system.terminal, "admin1", ADMIN_PASSWORD)
    assert sessions.sign_in_password(conn, settings, system.terminal, "admin1", NEW).actor.login == "admin1"
    rows = [r for r in log_rows(admin_conn) if r["detail"].get("event") == "password_change"]
    assert [(r["operator_login"], r["outcome"], r["function"]) for r in rows] == [
        ("admin1", "allow", "sign_in")
    ]
    everything = str(log_rows(admin_conn))
    assert NEW not in everything and ADMIN_PASSWORD not in everything


@pytest.mark.parametrize(
    ("current", "new", "code"),
    [
        ("", NEW, "T_PASSWORD_EMPTY"),
        (ADMIN_PASSWORD, "short", "T_PASSWORD_WEAK"),
        (ADMIN_PASSWORD, "admin1", "T_PASSWORD_WEAK"),
        (ADMIN_PASSWORD, ADMIN_PASSWORD, "T_PASSWORD_SAME"),
    ],
)
def test_S02_password_policy_is_enforced_on_change(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System, current: str, new: str, code: str
) -> None:
    """S-02: empty current password, too short, equal to the login, unchanged: refused, not counted,
    logged as rejected; the password stays what it was."""
    with pytest.raises(Refusal) as refused:
        operators.change_password(conn, settings, system.admin, current, new)
    assert refused.value.code == code
    assert admin_conn.execute("SELECT count(*) FROM term.sign_in_failures").fetchone() == (0,)
    assert sessions.sign_in_password(conn, settings, system.terminal, "admin1", ADMIN_PASSWORD)
    rows = [r for r in log_rows(admin_conn) if r["detail"].get("event") == "password_change"]
    assert [(r["outcome"], r["detail"]["refusal"]) for r in rows] == [("rejected", code)]


def test_S02_wrong_current_password_counts_towards_the_throttle(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Somebody at an unlocked screen guessing the current password is counted like a sign-in
    failure at this terminal, and throttled at the threshold (T_AUTH_THROTTLED)."""
    codes = []
    for attempt in range(settings.lockout_threshold):
        with pytest.raises(Refusal) as refused:
            operators.change_password(conn, settings, system.admin, f"guess {attempt}", NEW)
        codes.append(refused.value.code)
    assert codes[:-1] == ["T_AUTH_FAILED"] * (settings.lockout_threshold - 1)
    assert codes[-1] == "T_AUTH_THROTTLED"
    with pytest.raises(Refusal, match="T_AUTH_THROTTLED"):  # even the right one now
        operators.change_password(conn, settings, system.admin, ADMIN_PASSWORD, NEW)


def test_S03_operator_without_a_password_role_cannot_set_one(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-03: roles touching personal data need 生体認証: no password to change."""
    operator_with_roles(conn, settings, system, "kensaku1", "pref_operator")
    searcher = operators.console_actor(conn, "kensaku1")
    with pytest.raises(Refusal, match="T_PASSWORD_NOT_ALLOWED"):
        operators.change_password(conn, settings, searcher, "anything at all", NEW)


def test_S02_guessing_the_current_password_can_lock_the_id_and_ends_the_session(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """When the failures reach the ID lock (here one terminal is enough), the change is answered
    T_AUTH_LOCKED, the operator's session ends and the counted failures stay committed."""
    strict = dataclasses.replace(settings, lockout_terminals=1)
    codes = []
    for attempt in range(strict.lockout_threshold):
        with pytest.raises(Refusal) as refused:
            operators.change_password(conn, strict, system.admin, f"guess {attempt}", NEW)
        codes.append(refused.value.code)
    assert codes[-1] == "T_AUTH_LOCKED"
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.resolve(conn, strict, system.terminal, system.session_secret)
    assert operators.get_operator(conn, "admin1").locked_at is not None
    rows = [r for r in log_rows(admin_conn) if r["detail"].get("event") == "password_change"]
    assert [r["detail"]["refusal"] for r in rows][-1] == "T_AUTH_LOCKED"
    assert all(r["claimed_login"] == "admin1" and r["actor_kind"] == "unauthenticated" for r in rows)
