"""Operators: registration, enrolment, ID + password with lockout, the first administrator
(REQUIREMENTS S-02, S-03, S-08)."""

from __future__ import annotations

import dataclasses

import pytest
from argon2 import PasswordHasher

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, passwords, rights_ledger, sessions, terminals, tokens
from juki.services.access.actor import TerminalKind
from tests.services.access.support import (
    ADMIN_PASSWORD,
    Conn,
    System,
    log_rows,
    operator_with_roles,
    second_admin,
    second_terminal,
)

PASSWORD = "a long enough passphrase"


def test_bootstrap_creates_the_first_administrator_once(
    conn: Conn, admin_conn: Conn, settings: Settings
) -> None:
    """S-08: the first administrator is granted the admin role as a recorded bootstrap grant, with a
    代表端末 and one-time tokens; a second run is refused and changes nothing."""
    boot = operators.bootstrap_first_admin(conn, settings, "Admin1")
    operator, enrolment, binding = boot
    assert operator.login == "admin1" and operator.display_name == "システム管理者"
    assert rights_ledger.current_roles(conn, operator.id) == {"admin"}
    assert [(e.event, e.by_login) for e in rights_ledger.ledger_entries(conn)] == [
        ("bootstrap_granted", "(bootstrap)")
    ]
    terminal = terminals.get_terminal(conn, "代表端末")
    assert terminal.kind is TerminalKind.REPRESENTATIVE and not terminal.bound
    assert enrolment != binding and len(enrolment) >= 40
    # Tokens are stored hashed only.
    stored = admin_conn.execute("SELECT token_hash FROM term.one_time_tokens").fetchall()
    assert {bytes(r[0]) for r in stored} == {tokens.digest(enrolment), tokens.digest(binding)}
    with pytest.raises(Refusal) as refused:
        operators.bootstrap_first_admin(conn, settings, "admin9")
    assert refused.value.code == "T_BOOTSTRAP_DONE"
    assert [o.login for o in operators.list_operators(conn)] == ["admin1"]
    bootstraps = [r for r in log_rows(admin_conn) if r["detail"]["event"] == "rights_bootstrap"]
    assert [(r["outcome"], r["operator_login"], r["actor_kind"]) for r in bootstraps] == [
        ("allow", None, "system:bootstrap"),
        ("rejected", None, "system:bootstrap"),
    ]


def test_S02_the_bootstrap_administrator_signs_in_with_a_password(conn: Conn, settings: Settings) -> None:
    """S-02/S-03: the admin role allows ID + password, so the first administrator can start work."""
    boot = operators.bootstrap_first_admin(conn, settings, "admin1")
    operator, allowed = operators.enrolment_operator(conn, boot.enrolment_token)
    assert operator.login == "admin1" and allowed
    operators.enrol_password(conn, boot.enrolment_token, PASSWORD)
    terminal, _ = terminals.bind(conn, boot.binding_token)
    signed = sessions.sign_in_password(conn, settings, terminal, "admin1", PASSWORD)
    assert signed.actor.roles == {"admin"} and signed.actor.terminal_name == "代表端末"
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):  # single use
        operators.enrol_password(conn, boot.enrolment_token, PASSWORD)


def test_create_operator_checks_the_login(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Logins are normalised (lower case), checked, unique; the creation is logged."""
    op, token = operators.create_operator(conn, settings, " Yamada.T ", "山田 太郎", by=system.admin)
    assert op.login == "yamada.t" and not op.has_password and op.webauthn_credentials == 0
    assert token not in str(admin_conn.execute("SELECT * FROM term.one_time_tokens").fetchall())
    for login, code in (
        ("yamada.t", "T_OPERATOR_EXISTS"),
        ("山田", "T_LOGIN_INVALID"),
        ("", "T_LOGIN_INVALID"),
    ):
        with pytest.raises(Refusal) as refused:
            operators.create_operator(conn, settings, login, "山田", by=system.admin)
        assert refused.value.code == code
    with pytest.raises(Refusal, match="T_NAME_INVALID"):
        operators.create_operator(conn, settings, "okada", " ", by=system.admin)
    created = [r for r in log_rows(admin_conn, function="operator_admin") if r["outcome"] == "allow"]
    assert [r["target"] for r in created] == ["yamada.t"]


def test_S07_only_operator_administrators_register_operators(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-07: registering operators is an admin function; others are refused (and nothing is created)."""
    operator_with_roles(conn, settings, system, "kudo", "auditor")
    kudo = operators.console_actor(conn, "kudo")
    with pytest.raises(Refusal, match="T_FORBIDDEN"):
        operators.create_operator(conn, settings, "intruder", "侵入者", by=kudo)
    with pytest.raises(Refusal, match="T_FORBIDDEN"):
        operators.issue_enrolment_token(conn, settings, "kudo", by=kudo)
    assert "intruder" not in [o.login for o in operators.list_operators(conn)]


def test_S03_password_enrolment_only_for_roles_that_allow_it(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-01/S-03: an operator whose roles touch personal data cannot set a password (WebAuthn only);
    the enrolment link stays valid for the authenticator."""
    _, token = operator_with_roles(conn, settings, system, "kimura", "pref_operator")
    assert operators.enrolment_operator(conn, token)[1] is False
    with pytest.raises(Refusal) as refused:
        operators.enrol_password(conn, token, PASSWORD)
    assert refused.value.code == "T_PASSWORD_NOT_ALLOWED"
    assert operators.enrolment_operator(conn, token)[0].login == "kimura"  # not used up


def test_S02_weak_passwords_and_stale_links_are_refused(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-02: a password is at least 12 characters and not the login; only the newest, unexpired link works."""
    _, first = operator_with_roles(conn, settings, system, "ogawa", "auditor")
    with pytest.raises(Refusal, match="T_PASSWORD_WEAK"):
        operators.enrol_password(conn, first, "short")
    second = operators.issue_enrolment_token(conn, settings, "ogawa", by=system.admin)
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        operators.enrol_password(conn, first, PASSWORD)  # superseded
    admin_conn.execute("UPDATE term.one_time_tokens SET expires_at = now() - interval '1 second'")
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        operators.enrol_password(conn, second, PASSWORD)  # expired
    third = operators.issue_enrolment_token(conn, settings, "ogawa", by=system.admin)
    assert operators.enrol_password(conn, third, PASSWORD).has_password


def test_S02_wrong_password_and_unknown_id_fail_alike_and_are_logged(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-02: a wrong password and an unknown ID get the same refusal; each failure is logged (committed)
    with the ID typed and the terminal."""
    for login in ("admin1", "nobody"):
        with pytest.raises(Refusal) as refused:
            sessions.sign_in_password(conn, settings, system.terminal, login, "wrong password!")
        assert refused.value.code == "T_AUTH_FAILED"
    failures = log_rows(admin_conn, function="sign_in", outcome="failure")
    assert [
        (r["operator_login"], r["claimed_login"], r["terminal_name"], r["detail"]["refusal"])
        for r in failures
    ] == [
        (None, "admin1", "代表端末", "T_AUTH_FAILED"),
        (None, "nobody", "代表端末", "T_AUTH_FAILED"),
    ]
    assert (
        failures[0]["detail"]["failures"] == 1
        and failures[0]["detail"]["operator"] == system.admin.operator_id
    )
    assert failures[1]["detail"]["failures"] == 1  # an unknown ID is counted like a known one


def test_S02_lockout_after_consecutive_failures_until_an_administrator_unlocks(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-02: N consecutive failures (setting) at one terminal throttle that terminal for the ID; when a
    second terminal reaches N too the ID is locked — even the right password is refused — and the
    operator's sessions end; an administrator unlocks it; a success resets the count."""
    strict = dataclasses.replace(settings, lockout_threshold=3)
    _, token = operator_with_roles(conn, settings, system, "honda", "auditor")
    operators.enrol_password(conn, token, PASSWORD)
    other = second_terminal(conn, settings, system)
    open_session = sessions.sign_in_password(conn, strict, system.terminal, "honda", PASSWORD)
    for _ in range(2):
        with pytest.raises(Refusal, match="T_AUTH_FAILED"):
            sessions.sign_in_password(conn, strict, system.terminal, "honda", "not the password")
    sessions.sign_in_password(conn, strict, system.terminal, "honda", PASSWORD)  # resets the count
    codes = []
    for terminal in (system.terminal, other):
        for _ in range(3):
            with pytest.raises(Refusal) as refused:
                sessions.sign_in_password(conn, strict, terminal, "honda", "not the password")
            codes.append(refused.value.code)
    assert codes == ["T_AUTH_FAILED"] * 2 + ["T_AUTH_THROTTLED"] + ["T_AUTH_FAILED"] * 2 + ["T_AUTH_LOCKED"]
    with pytest.raises(Refusal, match="T_AUTH_LOCKED"):
        sessions.sign_in_password(conn, strict, system.terminal, "honda", PASSWORD)
    assert operators.get_operator(conn, "honda").locked_at is not None
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.resolve(conn, strict, system.terminal, open_session.secret)
    locked = [r for r in log_rows(admin_conn, claimed_login="honda") if r["detail"].get("locked")]
    assert len(locked) == 1 and locked[0]["detail"]["cause"] == "T_AUTH_FAILED"
    unlocked = operators.unlock_operator(conn, "honda", by=system.admin)
    assert unlocked.locked_at is None and unlocked.consecutive_failures == 0
    assert sessions.sign_in_password(conn, strict, system.terminal, "honda", PASSWORD).actor.login == "honda"


def test_S03_password_refused_when_no_role_allows_it_and_sessions_carry_only_password_roles(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-01/S-03: with a password an operator gets only their password-allowed roles; an operator whose
    roles all need 生体認証 is refused a password sign-in even with the right password."""
    op, token = operator_with_roles(conn, settings, system, "fujita", "auditor")
    operators.enrol_password(conn, token, PASSWORD)
    me = operators.console_actor(conn, "fujita")
    rights_ledger.approve(
        conn, rights_ledger.apply(conn, op.id, "pref_operator", "兼務", by=me), system.admin
    )
    signed = sessions.sign_in_password(conn, settings, system.terminal, "fujita", PASSWORD)
    assert signed.actor.roles == {"auditor"}  # pref_operator needs WebAuthn
    grant = next(
        r.grant_id
        for r in rights_ledger.inventory(conn)
        if r.operator_login == "fujita" and r.role == "auditor"
    )
    rights_ledger.revoke(conn, grant, system.admin, "監査担当を外れる")
    with pytest.raises(Refusal) as refused:
        sessions.sign_in_password(conn, settings, system.terminal, "fujita", PASSWORD)
    assert refused.value.code == "T_PASSWORD_NOT_ALLOWED"
    assert operators.get_operator(conn, "fujita").consecutive_failures == 0  # the password was right


def test_disabled_operators_cannot_sign_in_and_the_last_admin_stays(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-09: disabling an operator (retirement) ends their sessions and stops sign-in at once; the last
    enabled administrator cannot be disabled."""
    _, token = operator_with_roles(conn, settings, system, "ishii", "auditor")
    operators.enrol_password(conn, token, PASSWORD)
    signed = sessions.sign_in_password(conn, settings, system.terminal, "ishii", PASSWORD)
    assert operators.disable_operator(conn, "ishii", by=system.admin) == 1
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.resolve(conn, settings, system.terminal, signed.secret)
    with pytest.raises(Refusal, match="T_AUTH_FAILED"):
        sessions.sign_in_password(conn, settings, system.terminal, "ishii", PASSWORD)
    assert rights_ledger.current_roles(conn, operators.get_operator(conn, "ishii").id) == frozenset()
    with pytest.raises(Refusal, match="T_RIGHTS_LAST_ADMIN"):
        operators.disable_operator(conn, "admin1", by=system.admin)
    other = second_admin(conn, settings, system)
    assert operators.disable_operator(conn, "admin1", by=other) == 1


def test_S02_passwords_are_argon2id_and_rehashed_when_parameters_change(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-02: stored passwords are Argon2id hashes; one made with weaker parameters is upgraded at the
    next good sign-in."""
    stored = admin_conn.execute(
        "SELECT hash FROM term.password_credentials WHERE operator_id = %s", (system.admin.operator_id,)
    ).fetchone()
    assert stored is not None and stored[0].startswith("$argon2id$") and ADMIN_PASSWORD not in stored[0]
    assert passwords.verify_password(stored[0], ADMIN_PASSWORD)
    assert not passwords.verify_password(stored[0], "nope") and not passwords.verify_password("garbage", "x")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(ADMIN_PASSWORD)
    assert passwords.needs_rehash(weak)
    admin_conn.execute("UPDATE term.password_credentials SET hash = %s", (weak,))
    sessions.sign_in_password(conn, settings, system.terminal, "admin1", ADMIN_PASSWORD)
    upgraded = admin_conn.execute("SELECT hash FROM term.password_credentials").fetchone()
    assert upgraded is not None and upgraded[0] != weak and not passwords.needs_rehash(upgraded[0])
