"""生体認証 by WebAuthn with user verification required (REQUIREMENTS S-01, S-02, S-03).

py_webauthn's real verification is driven by a software ES256 authenticator built in the test
(attestation "none"), so every check below is the library's and ours, not a mock's.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, sessions, terminals, webauthn_auth
from juki.services.access.actor import TerminalKind
from tests.services.access.support import Conn, SoftAuthenticator, System, log_rows, operator_with_roles


def enrolled(conn: Conn, settings: Settings, system: System, login: str, *roles: str) -> SoftAuthenticator:
    """An operator holding `roles` with a registered software authenticator."""
    _, token = operator_with_roles(conn, settings, system, login, *roles)
    key = SoftAuthenticator()
    options = webauthn_auth.registration_options(conn, settings, token, terminal=system.terminal)
    webauthn_auth.finish_registration(
        conn, settings, token, key.register(options.options_json), terminal=system.terminal
    )
    return key


def sign_in(
    conn: Conn, settings: Settings, system: System, login: str, key: SoftAuthenticator, **kwargs: Any
) -> sessions.SignedIn:
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, login)
    return sessions.sign_in_webauthn(
        conn, settings, system.terminal, login, key.assert_(options.options_json, **kwargs)
    )


def test_S01_registration_and_sign_in_with_user_verification(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-01/S-02: ID + 生体認証: the authenticator is registered with UV and signs in with UV; the
    personal-data role comes with the WebAuthn session; every step is logged."""
    _, token = operator_with_roles(conn, settings, system, "hayashi", "pref_operator")
    options = webauthn_auth.registration_options(conn, settings, token, terminal=system.terminal)
    parsed = json.loads(options.options_json)
    assert parsed["authenticatorSelection"]["userVerification"] == "required"
    assert parsed["rp"]["id"] == "localhost" and parsed["user"]["name"] == "hayashi"
    assert parsed["attestation"] == "none"
    key = SoftAuthenticator()
    op = webauthn_auth.finish_registration(
        conn,
        settings,
        token,
        key.register(options.options_json),
        label="指紋リーダー",
        terminal=system.terminal,
    )
    assert op.webauthn_credentials == 1
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        webauthn_auth.registration_options(conn, settings, token)  # the link is used up
    request = json.loads(
        sessions.webauthn_sign_in_options(conn, settings, system.terminal, "hayashi").options_json
    )
    assert request["userVerification"] == "required" and len(request["allowCredentials"]) == 1
    signed = sign_in(conn, settings, system, "hayashi", key)
    assert signed.actor.roles == {"pref_operator"} and signed.actor.login == "hayashi"
    row = admin_conn.execute(
        "SELECT sign_count, last_used_at IS NOT NULL, label FROM term.webauthn_credentials"
    ).fetchone()
    assert row == (1, True, "指紋リーダー")
    events = [(r["detail"]["event"], r["outcome"]) for r in log_rows(admin_conn, function="sign_in")]
    assert ("enrol_webauthn", "allow") in events and events[-1] == ("sign_in", "allow")


def test_S01_registration_without_user_verification_is_refused(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-01: an authenticator that did not verify the user (UV flag missing) is not registered; the
    link stays usable and the failure is logged."""
    _, token = operator_with_roles(conn, settings, system, "kondo", "fuhyo_operator")
    key = SoftAuthenticator()
    options = webauthn_auth.registration_options(conn, settings, token)
    with pytest.raises(Refusal) as refused:
        webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json, uv=False))
    assert refused.value.code == "T_WEBAUTHN_UV_REQUIRED"
    assert refused.value.message_ja.startswith("本人確認（生体認証またはPIN）")
    assert admin_conn.execute("SELECT count(*) FROM term.webauthn_credentials").fetchone() == (0,)
    # The challenge is used up even though the registration failed; a new one works.
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json))
    options = webauthn_auth.registration_options(conn, settings, token)
    webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json))
    failures = [r["detail"] for r in log_rows(admin_conn, function="sign_in", outcome="failure")]
    assert [d["refusal"] for d in failures] == ["T_WEBAUTHN_UV_REQUIRED", "T_WEBAUTHN_FAILED"]
    assert "User verification" in failures[0]["note"]


def test_S01_assertion_without_user_verification_is_refused_and_counted(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-01: require_user_verification is always on: an assertion without UV (a mere touch) is refused
    with T_WEBAUTHN_UV_REQUIRED, logged, and counts towards the lockout."""
    key = enrolled(conn, settings, system, "yoshida", "pref_operator")
    with pytest.raises(Refusal) as refused:
        sign_in(conn, settings, system, "yoshida", key, uv=False)
    assert refused.value.code == "T_WEBAUTHN_UV_REQUIRED"
    assert operators.get_operator(conn, "yoshida").consecutive_failures == 1
    failure = log_rows(admin_conn, function="sign_in", outcome="failure")[-1]
    assert failure["operator_login"] is None and failure["claimed_login"] == "yoshida"
    assert failure["detail"]["refusal"] == "T_WEBAUTHN_UV_REQUIRED"
    strict = dataclasses.replace(settings, lockout_threshold=2, lockout_terminals=1)
    with pytest.raises(Refusal, match="T_AUTH_LOCKED"):
        sign_in(conn, strict, system, "yoshida", key, uv=False)
    with pytest.raises(Refusal, match="T_AUTH_LOCKED"):
        sign_in(conn, strict, system, "yoshida", key)  # locked: even a good assertion
    operators.unlock_operator(conn, "yoshida", by=system.admin)
    assert sign_in(conn, strict, system, "yoshida", key).actor.login == "yoshida"


def test_S01_wrong_origin_rp_or_key_is_refused(conn: Conn, settings: Settings, system: System) -> None:
    """S-01: the origin and RP ID are the configured ones; a signature by another key fails."""
    key = enrolled(conn, settings, system, "inoue", "pref_operator")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sign_in(conn, settings, system, "inoue", key, origin="https://evil.example")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sign_in(conn, settings, system, "inoue", key, rp_id="evil.example")
    impostor = dataclasses.replace(SoftAuthenticator(), credential_id=key.credential_id)
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sign_in(conn, settings, system, "inoue", impostor)


def test_S01_challenges_are_single_use_short_lived_and_bound_to_the_terminal(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-01: a replayed assertion, an expired challenge, or a challenge issued to another terminal fail."""
    key = enrolled(conn, settings, system, "kikuchi", "pref_operator")
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "kikuchi")
    response = key.assert_(options.options_json)
    sessions.sign_in_webauthn(conn, settings, system.terminal, "kikuchi", response)
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(conn, settings, system.terminal, "kikuchi", response)  # replay
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "kikuchi")
    admin_conn.execute("UPDATE term.webauthn_challenges SET expires_at = now() - interval '1 second'")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(
            conn, settings, system.terminal, "kikuchi", key.assert_(options.options_json)
        )
    other, token = terminals.register_terminal(
        conn, settings, "業務端末-2", TerminalKind.BUSINESS, by=system.admin
    )
    other, _ = terminals.bind(conn, token)
    options = sessions.webauthn_sign_in_options(conn, settings, other, "kikuchi")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(
            conn, settings, system.terminal, "kikuchi", key.assert_(options.options_json)
        )


def test_S01_a_sign_count_that_does_not_grow_is_refused(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-01: a sign count not above the stored one suggests a cloned authenticator: refused."""
    key = enrolled(conn, settings, system, "shimizu", "pref_operator")
    sign_in(conn, settings, system, "shimizu", key)
    sign_in(conn, settings, system, "shimizu", key)
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sign_in(conn, settings, system, "shimizu", key, sign_count=1)


def test_S02_the_credential_must_be_the_id_typed(conn: Conn, settings: Settings, system: System) -> None:
    """S-02: ID + biometrics: another operator's authenticator, or an unknown ID, does not sign in."""
    mine = enrolled(conn, settings, system, "takeda", "pref_operator")
    enrolled(conn, settings, system, "noguchi", "fuhyo_operator")
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "noguchi")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(
            conn,
            settings,
            system.terminal,
            "noguchi",
            mine.assert_(options.options_json, credential_id=mine.credential_id),
        )
    unknown = json.loads(
        sessions.webauthn_sign_in_options(conn, settings, system.terminal, "ghost").options_json
    )
    assert len(unknown["allowCredentials"]) == 1  # a stand-in (hardening 12)
    options = sessions.webauthn_sign_in_options(conn, settings, system.terminal, "ghost")
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(
            conn,
            settings,
            system.terminal,
            "ghost",
            mine.assert_(options.options_json, credential_id=mine.credential_id),
        )
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        sessions.sign_in_webauthn(conn, settings, system.terminal, "takeda", {"id": "broken"})


def test_S01_an_authenticator_is_registered_once(conn: Conn, settings: Settings, system: System) -> None:
    """S-01: the same credential cannot be registered twice (excluded in the options, refused if sent)."""
    key = enrolled(conn, settings, system, "ono", "pref_operator")
    token = operators.issue_enrolment_token(conn, settings, "ono", by=system.admin)
    options = webauthn_auth.registration_options(conn, settings, token)
    assert len(json.loads(options.options_json)["excludeCredentials"]) == 1
    with pytest.raises(Refusal, match="T_WEBAUTHN_FAILED"):
        webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json))
