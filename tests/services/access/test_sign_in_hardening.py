"""Hardening item 12: sign-in answers do not tell whether an ID exists, one terminal cannot lock
anybody out, and an empty password is not an attempt (services/access/throttle.py)."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from typing import Any

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, passwords, sessions, terminals, webauthn_auth
from tests.services.access.support import (
    Conn,
    SoftAuthenticator,
    System,
    operator_with_roles,
    second_terminal,
)

PASSWORD = "a long enough passphrase"
WRONG = "not the password at all"


def _code(call: Any) -> str:
    with pytest.raises(Refusal) as refused:
        call()
    return refused.value.code


def _biometric_only(conn: Conn, settings: Settings, system: System, login: str) -> SoftAuthenticator:
    _, token = operator_with_roles(conn, settings, system, login, "pref_operator")
    key = SoftAuthenticator()
    options = webauthn_auth.registration_options(conn, settings, token)
    webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json))
    return key


def _with_password(conn: Conn, settings: Settings, system: System, login: str) -> None:
    _, token = operator_with_roles(conn, settings, system, login, "auditor")
    operators.enrol_password(conn, token, PASSWORD)


def test_hardening_12_S01_S02_answers_are_the_same_for_existing_and_unknown_ids(
    conn: Conn, settings: Settings, system: System
) -> None:
    """Wrong passwords from two terminals: an operator with a password, a biometric-only operator and
    an ID nobody has get the same answers in the same order (failed, throttled, locked)."""
    strict = dataclasses.replace(settings, lockout_threshold=3, lockout_terminals=2)
    _with_password(conn, settings, system, "honda")
    _biometric_only(conn, settings, system, "kimura")
    other = second_terminal(conn, settings, system)
    answers: dict[str, list[str]] = {}
    for login in ("honda", "kimura", "ghost"):
        answers[login] = [
            _code(lambda t=t, lg=login: sessions.sign_in_password(conn, strict, t, lg, WRONG))
            for t in (system.terminal,) * 4 + (other,) * 3
        ]
        answers[login].append(
            _code(lambda lg=login: sessions.sign_in_password(conn, strict, other, lg, PASSWORD))
        )
    assert (
        answers["honda"]
        == ["T_AUTH_FAILED"] * 2 + ["T_AUTH_THROTTLED"] * 2 + ["T_AUTH_FAILED"] * 2 + ["T_AUTH_LOCKED"] * 2
    )
    assert answers["kimura"] == answers["honda"] and answers["ghost"] == answers["honda"]


def test_hardening_12_S01_S02_one_terminal_cannot_lock_an_operator_out(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """However often one terminal fails for an ID it only throttles itself, for a while: the operator
    signs in at another terminal, and at the same one after the wait; the ID is never locked."""
    _with_password(conn, settings, system, "honda")
    other = second_terminal(conn, settings, system)
    codes = [
        _code(lambda: sessions.sign_in_password(conn, settings, system.terminal, "honda", WRONG))
        for _ in range(settings.lockout_threshold * 3)
    ]
    assert set(codes[settings.lockout_threshold - 1 :]) == {"T_AUTH_THROTTLED"}
    assert operators.get_operator(conn, "honda").locked_at is None
    assert _code(lambda: sessions.sign_in_password(conn, settings, system.terminal, "honda", PASSWORD)) == (
        "T_AUTH_THROTTLED"
    )  # the right password does not get through a throttle either
    assert sessions.sign_in_password(conn, settings, other, "honda", PASSWORD).actor.login == "honda"
    # The success cleared the counts; fail again up to the throttle, then let the wait pass.
    for _ in range(settings.lockout_threshold):
        _code(lambda: sessions.sign_in_password(conn, settings, system.terminal, "honda", WRONG))
    admin_conn.execute(
        "UPDATE term.sign_in_failures SET last_failure_at = now() - make_interval(secs => %s)",
        (settings.throttle_seconds + 1,),
    )
    assert (
        sessions.sign_in_password(conn, settings, system.terminal, "honda", PASSWORD).actor.login == "honda"
    )


def test_hardening_12_S01_S02_every_answer_costs_one_argon2_verification(
    conn: Conn, settings: Settings, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known, unknown, disabled, password-less, throttled and locked IDs all run exactly one Argon2
    verification, so the time of the answer does not tell them apart (a locked ID used to answer in
    ~10 ms instead of ~180 ms)."""
    strict = dataclasses.replace(settings, lockout_threshold=2, lockout_terminals=1)
    _with_password(conn, settings, system, "honda")
    _with_password(conn, settings, system, "ishii")
    _biometric_only(conn, settings, system, "kimura")
    operators.disable_operator(conn, "ishii", by=system.admin)
    _with_password(conn, settings, system, "locked1")
    for _ in range(2):
        _code(lambda: sessions.sign_in_password(conn, strict, system.terminal, "locked1", WRONG))
    assert operators.get_operator(conn, "locked1").locked_at is not None
    other = second_terminal(conn, settings, system)
    for _ in range(settings.lockout_threshold):
        _code(lambda: sessions.sign_in_password(conn, settings, other, "honda", WRONG))
    real = passwords.verify_password
    calls: list[str] = []

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    cases = [
        (system.terminal, "honda", "T_AUTH_FAILED"),
        (system.terminal, "nobody", "T_AUTH_FAILED"),
        (system.terminal, "ishii", "T_AUTH_FAILED"),
        (system.terminal, "kimura", "T_AUTH_FAILED"),
        (other, "honda", "T_AUTH_THROTTLED"),
        (system.terminal, "locked1", "T_AUTH_LOCKED"),
    ]
    for terminal, login, expected in cases:
        calls.clear()
        assert (
            _code(lambda t=terminal, lg=login: sessions.sign_in_password(conn, settings, t, lg, WRONG))
            == expected
        )
        assert len(calls) == 1, login
    # A generous statistical check: a locked ID is not answered much faster than an unknown one.
    monkeypatch.setattr(passwords, "verify_password", real)

    def seconds(login: str) -> float:
        start = time.perf_counter()
        _code(lambda: sessions.sign_in_password(conn, settings, system.terminal, login, WRONG))
        return time.perf_counter() - start

    locked = statistics.median(seconds("locked1") for _ in range(3))
    unknown = statistics.median(seconds(f"nobody{n}") for n in range(3))
    assert locked > unknown * 0.4, (locked, unknown)


def test_hardening_12_S01_S02_webauthn_options_for_an_unknown_id_look_like_a_known_ones(
    conn: Conn, settings: Settings, system: System
) -> None:
    """Options for an unknown ID (or one without an authenticator) list one credential, like a real
    operator's, with the same length and transports, the same one on every request."""
    _biometric_only(conn, settings, system, "kimura")

    def options(login: str) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(
            sessions.webauthn_sign_in_options(conn, settings, system.terminal, login).options_json
        )
        return parsed

    known, ghost, again, other, admin = (options(x) for x in ("kimura", "ghost", "ghost", "ghost2", "admin1"))
    assert set(ghost) == set(known)
    for shown in (ghost, other, admin):
        assert len(shown["allowCredentials"]) == len(known["allowCredentials"]) == 1
        fake, real = shown["allowCredentials"][0], known["allowCredentials"][0]
        assert len(fake["id"]) == len(real["id"]) and fake["transports"] == real["transports"]
        assert fake["id"] != real["id"]
    assert ghost["allowCredentials"] == again["allowCredentials"]  # deterministic, not random
    assert ghost["allowCredentials"] != other["allowCredentials"]
    assert ghost["challenge"] != again["challenge"]


def test_hardening_12_S01_S02_an_empty_password_is_not_an_attempt(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Enter after the ID submits an empty password: refused with T_PASSWORD_EMPTY, for every ID
    alike, and never counted — a biometric-only operator is not locked out by it."""
    key = _biometric_only(conn, settings, system, "kimura")
    other = second_terminal(conn, settings, system)
    for terminal in (system.terminal, other):
        for login in ("kimura", "ghost"):
            for _ in range(settings.lockout_threshold + 1):
                assert (
                    _code(lambda t=terminal, lg=login: sessions.sign_in_password(conn, settings, t, lg, ""))
                    == "T_PASSWORD_EMPTY"
                )
    assert operators.get_operator(conn, "kimura").consecutive_failures == 0
    assert admin_conn.execute("SELECT count(*) FROM term.sign_in_failures").fetchone() == (0,)
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "kimura")
    signed = sessions.sign_in_webauthn(
        conn, settings, system.terminal, "kimura", key.assert_(options.options_json)
    )
    assert signed.actor.login == "kimura"


def test_hardening_12_S01_S02_webauthn_sign_in_is_throttled_for_unknown_ids_too(
    conn: Conn, settings: Settings, system: System
) -> None:
    """The WebAuthn path counts and throttles the ID typed, existing or not, with the same answers."""
    strict = dataclasses.replace(settings, lockout_threshold=2)
    key = _biometric_only(conn, settings, system, "kimura")
    stranger = SoftAuthenticator()
    answers: dict[str, list[str]] = {}
    for login in ("kimura", "ghost"):
        answers[login] = []
        for _ in range(3):
            options = sessions.webauthn_sign_in_options(conn, strict, system.terminal, login)
            forged = stranger.assert_(options.options_json, credential_id=stranger.credential_id)
            answers[login].append(
                _code(
                    lambda f=forged, lg=login: sessions.sign_in_webauthn(conn, strict, system.terminal, lg, f)
                )
            )
    assert (
        answers["kimura"] == answers["ghost"] == ["T_WEBAUTHN_FAILED", "T_AUTH_THROTTLED", "T_AUTH_THROTTLED"]
    )
    assert isinstance(key, SoftAuthenticator) and terminals.get_terminal(conn, system.terminal.id).bound
