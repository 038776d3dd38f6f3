"""Registered terminals: registration, binding a browser, retirement (REQUIREMENTS S-07; ARCHITECTURE §4)."""

from __future__ import annotations

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access import operators, permissions, sessions, terminals, tokens, webauthn_auth
from juki.services.access.actor import Function, TerminalKind
from tests.services.access.support import (
    ADMIN_PASSWORD,
    Conn,
    SoftAuthenticator,
    System,
    log_rows,
    operator_with_roles,
    who,
)


def test_register_and_bind_a_terminal(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """A terminal is registered by an administrator; a browser binds once with the one-time token and
    then names the terminal by its secret, which is stored only as a hash."""
    terminal, token = terminals.register_terminal(
        conn, settings, " 業務端末-税務 ", TerminalKind.BUSINESS, bulk_enabled=True, by=system.admin
    )
    assert (terminal.name, terminal.kind, terminal.bulk_enabled, terminal.bound) == (
        "業務端末-税務",
        TerminalKind.BUSINESS,
        True,
        False,
    )
    with pytest.raises(Refusal, match="T_TERMINAL_UNKNOWN"):
        terminals.resolve_terminal(conn, None)
    bound, secret = terminals.bind(conn, token)
    assert bound.bound and bound.id == terminal.id and bound.kind_label == "業務端末"
    assert terminals.resolve_terminal(conn, secret) == bound
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        terminals.bind(conn, token)  # single use
    stored = admin_conn.execute(
        "SELECT secret_hash FROM term.terminals WHERE id = %s", (terminal.id,)
    ).fetchone()
    assert stored is not None and bytes(stored[0]) == tokens.digest(secret)
    events = [(r["detail"]["event"], r["outcome"]) for r in log_rows(admin_conn, function="terminal_admin")]
    assert events[-3:] == [
        ("terminal_register", "allow"),
        ("terminal_bind", "allow"),
        ("terminal_bind", "failure"),
    ]
    with pytest.raises(Refusal, match="T_TERMINAL_EXISTS"):
        terminals.register_terminal(conn, settings, "業務端末-税務", TerminalKind.BUSINESS, by=system.admin)
    with pytest.raises(Refusal, match="T_NAME_INVALID"):
        terminals.register_terminal(conn, settings, "", TerminalKind.BUSINESS, by=system.admin)


def test_rebinding_replaces_the_old_secret(conn: Conn, settings: Settings, system: System) -> None:
    """A new binding token (a reinstalled machine) makes the old browser secret worthless."""
    token = terminals.issue_binding_token(conn, settings, "代表端末", by=system.admin)
    _, secret = terminals.bind(conn, token)
    with pytest.raises(Refusal, match="T_TERMINAL_UNKNOWN"):
        terminals.resolve_terminal(conn, system.terminal_secret)
    assert terminals.resolve_terminal(conn, secret).name == "代表端末"


def test_retiring_a_terminal_ends_its_sessions(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """A retired terminal is unknown at once, its open sessions end and its unused tokens expire."""
    other, token = terminals.register_terminal(
        conn, settings, "業務端末-3", TerminalKind.BUSINESS, by=system.admin
    )
    other, secret = terminals.bind(conn, token)
    signed = sessions.sign_in_password(conn, settings, other, "admin1", ADMIN_PASSWORD)
    spare = terminals.issue_binding_token(conn, settings, other.id, by=system.admin)
    assert terminals.retire(conn, "業務端末-3", by=system.admin) == 1
    with pytest.raises(Refusal, match="T_TERMINAL_UNKNOWN"):
        terminals.resolve_terminal(conn, secret)
    with pytest.raises(Refusal, match="T_SESSION_ENDED"):
        sessions.resolve(conn, settings, other, signed.secret)
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        terminals.bind(conn, spare)
    with pytest.raises(Refusal, match="T_TERMINAL_UNKNOWN"):
        terminals.retire(conn, "業務端末-3", by=system.admin)
    assert [t.name for t in terminals.list_terminals(conn)] == ["代表端末"]
    assert [t.name for t in terminals.list_terminals(conn, include_retired=True)] == [
        "代表端末",
        "業務端末-3",
    ]
    row = admin_conn.execute(
        "SELECT end_reason FROM term.sessions WHERE id = %s", (int(signed.actor.session_id or 0),)
    ).fetchone()
    assert row == ("terminal_retired",)


def test_S07_only_terminal_administrators_register_terminals(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-07: registering terminals is an admin function: refused (and logged as a deny) for others."""
    operator_with_roles(conn, settings, system, "aoki", "auditor")
    aoki = operators.console_actor(conn, "aoki")
    with pytest.raises(Refusal, match="T_FORBIDDEN"):
        terminals.register_terminal(conn, settings, "私物PC", TerminalKind.BUSINESS, by=aoki)
    with pytest.raises(Refusal, match="T_FORBIDDEN"):
        terminals.retire(conn, "代表端末", by=aoki)
    denied = [(who(r), r["target"]) for r in log_rows(admin_conn, function="terminal_admin", outcome="deny")]
    assert denied == [("claimed:aoki", "私物PC"), ("claimed:aoki", "代表端末")]  # console --as
    assert [t.name for t in terminals.list_terminals(conn)] == ["代表端末"]


def test_S07_the_terminal_decides_whether_output_is_possible(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-07 (S-29): the Actor carries the terminal's bulk flag, so output is allowed only at a
    bulk-enabled terminal, even for a holder of bulk_output signed in with 生体認証."""
    _, token = operator_with_roles(conn, settings, system, "kubo", "bulk_output")
    key = SoftAuthenticator()
    options = webauthn_auth.registration_options(conn, settings, token)
    webauthn_auth.finish_registration(conn, settings, token, key.register(options.options_json))
    _, bind_token = terminals.register_terminal(
        conn, settings, "出力端末", TerminalKind.BUSINESS, bulk_enabled=True, by=system.admin
    )
    bulk, _ = terminals.bind(conn, bind_token)
    for terminal, expected in ((bulk, True), (system.terminal, False)):
        request = sessions.webauthn_sign_in_options(conn, settings, terminal, "kubo")
        actor = sessions.sign_in_webauthn(
            conn, settings, terminal, "kubo", key.assert_(request.options_json)
        ).actor
        assert actor.roles == {"bulk_output"} and actor.bulk_enabled is expected
        assert permissions.allows(actor, Function.OUTPUT, FileKind.FUHYO) is expected
