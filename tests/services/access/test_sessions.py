"""Terminal sessions: the Actor of a request, idle lock and unlock, sign-out (REQUIREMENTS S-01, S-02,
S-04, S-07)."""

from __future__ import annotations

import dataclasses

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, sessions, terminals, tokens, webauthn_auth
from juki.services.access.actor import TerminalKind
from tests.services.access.support import (
    ADMIN_PASSWORD,
    Conn,
    SoftAuthenticator,
    System,
    log_rows,
    operator_with_roles,
)


def idle(admin_conn: Conn, secret: str, minutes: int) -> None:
    """Pretend the session has not been used for `minutes`."""
    admin_conn.execute(
        "UPDATE term.sessions SET last_activity_at = now() - make_interval(mins => %s) WHERE secret_hash = %s",
        (minutes, tokens.digest(secret)),
    )


def test_S07_resolve_builds_the_actor_from_session_terminal_and_ledger(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-07: the Actor names the operator, the roles granted now, and the terminal it comes from; the
    session secret is stored only as a hash and never appears in the log."""
    actor = sessions.resolve(conn, settings, system.terminal, system.session_secret)
    assert (actor.login, actor.roles, actor.terminal_name, actor.terminal_kind) == (
        "admin1",
        frozenset({"admin"}),
        "代表端末",
        TerminalKind.REPRESENTATIVE,
    )
    assert actor.session_id is not None and system.session_secret not in actor.session_id
    stored = admin_conn.execute("SELECT secret_hash FROM term.sessions").fetchall()
    assert [bytes(r[0]) for r in stored] == [tokens.digest(system.session_secret)]
    assert system.session_secret not in str(log_rows(admin_conn))
    signed_in = [r for r in log_rows(admin_conn, function="sign_in") if r["detail"]["event"] == "sign_in"]
    assert signed_in[0]["session_id"] == actor.session_id and signed_in[0]["outcome"] == "allow"


def test_S07_a_session_belongs_to_its_terminal(conn: Conn, settings: Settings, system: System) -> None:
    """S-07: a session secret presented from another terminal is no session at all."""
    other, token = terminals.register_terminal(
        conn, settings, "業務端末-1", TerminalKind.BUSINESS, by=system.admin
    )
    other, _ = terminals.bind(conn, token)
    for secret in (system.session_secret, "made-up", None):
        with pytest.raises(Refusal) as refused:
            sessions.resolve(conn, settings, other if secret else system.terminal, secret)
        assert refused.value.code == "T_SESSION_REQUIRED"


def test_S04_idle_session_is_locked_until_the_same_operator_authenticates(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-04: after the idle timeout (default 10 minutes) the session is locked — the screen saver —
    and only the operator's password unlocks it; the lock and unlock are logged."""
    assert settings.idle_lock_seconds == 600
    idle(admin_conn, system.session_secret, 9)
    sessions.resolve(conn, settings, system.terminal, system.session_secret)  # still fine, and touched
    idle(admin_conn, system.session_secret, 11)
    for _ in range(2):
        with pytest.raises(Refusal) as refused:
            sessions.resolve(conn, settings, system.terminal, system.session_secret)
        assert refused.value.code == "T_SESSION_LOCKED"
    info = sessions.info(conn, system.session_secret)
    assert info is not None and info.locked and info.login == "admin1"
    with pytest.raises(Refusal, match="T_AUTH_FAILED"):
        sessions.unlock_password(conn, settings, system.terminal, system.session_secret, "not it")
    with pytest.raises(Refusal, match="T_SESSION_LOCKED"):
        sessions.resolve(conn, settings, system.terminal, system.session_secret)
    actor = sessions.unlock_password(conn, settings, system.terminal, system.session_secret, ADMIN_PASSWORD)
    assert actor.roles == {"admin"}
    assert sessions.resolve(conn, settings, system.terminal, system.session_secret).login == "admin1"
    events = [(r["detail"]["event"], r["outcome"]) for r in log_rows(admin_conn, function="sign_in")]
    assert events[-3:] == [("idle_lock", "allow"), ("unlock_password", "failure"), ("unlock", "allow")]


def test_S04_idle_timeout_is_a_setting(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-04: the idle timeout comes from the settings (JUKI_IDLE_LOCK_SECONDS)."""
    short = dataclasses.replace(settings, idle_lock_seconds=60)
    idle(admin_conn, system.session_secret, 2)
    with pytest.raises(Refusal, match="T_SESSION_LOCKED"):
        sessions.resolve(conn, short, system.terminal, system.session_secret)


def test_S04_manual_lock_and_sign_out(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-04: the operator can lock the screen at once; sign-out ends the session (also when locked)."""
    sessions.lock(conn, system.terminal, system.session_secret)
    with pytest.raises(Refusal, match="T_SESSION_LOCKED"):
        sessions.resolve(conn, settings, system.terminal, system.session_secret)
    sessions.sign_out(conn, system.terminal, system.session_secret)
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.resolve(conn, settings, system.terminal, system.session_secret)
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.unlock_password(conn, settings, system.terminal, system.session_secret, ADMIN_PASSWORD)
    sessions.sign_out(conn, system.terminal, system.session_secret)  # twice: harmless
    row = admin_conn.execute("SELECT end_reason FROM term.sessions").fetchone()
    assert row == ("sign_out",)
    events = [r["detail"]["event"] for r in log_rows(admin_conn, function="sign_in", outcome="allow")]
    assert events[-2:] == ["manual_lock", "sign_out"]


def test_S04_failed_unlocks_lead_to_the_lockout_which_ends_the_session(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-02/S-04: guessing at the lock screen counts like a sign-in at that terminal; throttling
    there ends the session (whoever guesses must sign in again)."""
    strict = dataclasses.replace(settings, lockout_threshold=2)
    sessions.lock(conn, system.terminal, system.session_secret)
    codes = []
    for _ in range(2):
        with pytest.raises(Refusal) as refused:
            sessions.unlock_password(conn, strict, system.terminal, system.session_secret, "guess")
        codes.append(refused.value.code)
    assert codes == ["T_AUTH_FAILED", "T_AUTH_THROTTLED"]
    info = sessions.info(conn, system.session_secret)
    assert info is not None and info.end_reason == "lockout"


def test_S01_S04_a_webauthn_session_is_unlocked_by_webauthn_only(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-01/S-04: a session opened with 生体認証 carries personal-data roles, so a password cannot unlock
    it (even the operator's own); the authenticator can."""
    op, token = operator_with_roles(conn, settings, system, "matsuda", "pref_operator", "auditor")
    password_token = operators.issue_enrolment_token(conn, settings, "matsuda", by=system.admin)
    operators.enrol_password(conn, password_token, "matsuda password 123")
    key = SoftAuthenticator()
    token = operators.issue_enrolment_token(conn, settings, "matsuda", by=system.admin)
    webauthn_auth.finish_registration(
        conn,
        settings,
        token,
        key.register(webauthn_auth.registration_options(conn, settings, token).options_json),
    )
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "matsuda")
    signed = sessions.sign_in_webauthn(
        conn, settings, system.terminal, "matsuda", key.assert_(options.options_json)
    )
    assert signed.actor.roles == {"pref_operator", "auditor"}
    sessions.lock(conn, system.terminal, signed.secret)
    with pytest.raises(Refusal) as refused:
        sessions.unlock_password(conn, settings, system.terminal, signed.secret, "matsuda password 123")
    assert refused.value.code == "T_PASSWORD_NOT_ALLOWED"
    unlock = sessions.unlock_webauthn_options(conn, settings, system.terminal, signed.secret)
    actor = sessions.unlock_webauthn(
        conn, settings, system.terminal, signed.secret, key.assert_(unlock.options_json)
    )
    assert actor.roles == {"pref_operator", "auditor"} and actor.operator_id == op.id


def test_S04_another_operator_cannot_unlock_a_locked_session(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-04: the lock screen takes only the session operator's own authenticator."""
    _, token = operator_with_roles(conn, settings, system, "owner", "pref_operator")
    _, other_token = operator_with_roles(conn, settings, system, "other", "pref_operator")
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    for key, tok in ((mine, token), (theirs, other_token)):
        webauthn_auth.finish_registration(
            conn,
            settings,
            tok,
            key.register(webauthn_auth.registration_options(conn, settings, tok).options_json),
        )
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "owner")
    signed = sessions.sign_in_webauthn(
        conn, settings, system.terminal, "owner", mine.assert_(options.options_json)
    )
    sessions.lock(conn, system.terminal, signed.secret)
    unlock = sessions.unlock_webauthn_options(conn, settings, system.terminal, signed.secret)
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.unlock_webauthn(
            conn,
            settings,
            system.terminal,
            signed.secret,
            theirs.assert_(unlock.options_json, credential_id=theirs.credential_id),
        )
    info = sessions.info(conn, signed.secret)
    assert info is not None and info.locked
