"""The operator whose right is revoked is told why (issue 10 item 10; S-09): the session the
revocation ended says so on its next page, and an operator who was not signed in is told on the
first page of their next session — once."""

from __future__ import annotations

from juki.config import Settings
from juki.services.access import operators, rights_ledger, sessions
from tests.services.access.support import Conn, System, operator_with_roles

PASSWORD = "auditor passphrase 0123"


def _auditor(conn: Conn, settings: Settings, system: System) -> int:
    _, token = operator_with_roles(conn, settings, system, "kansa1", "auditor")
    operators.enrol_password(conn, token, PASSWORD)
    return next(r.grant_id for r in rights_ledger.inventory(conn) if r.operator_login == "kansa1")


def test_S09_the_ended_session_says_which_right_was_revoked_and_why(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-09: revocation ends the session; its notice names the role and the administrator's reason."""
    grant = _auditor(conn, settings, system)
    signed = sessions.sign_in_password(conn, settings, system.terminal, "kansa1", PASSWORD)
    rights_ledger.revoke(conn, grant, system.admin, "監査業務の終了")
    notice = sessions.end_notice(conn, signed.secret)
    assert notice is not None and "「監査担当」（理由: 監査業務の終了）" in notice
    sessions.sign_out(conn, system.terminal, system.session_secret)
    assert sessions.end_notice(conn, system.session_secret) is None  # a sign-out needs no notice


def test_S09_an_operator_signed_out_at_revocation_is_told_once_at_the_next_sign_in(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-09: revoked while signed out — the next session carries the notice, shown once."""
    grant = _auditor(conn, settings, system)
    first = sessions.sign_in_password(conn, settings, system.terminal, "kansa1", PASSWORD)
    opened = sessions.info(conn, first.secret)
    assert opened is not None and opened.notice is None
    sessions.sign_out(conn, system.terminal, first.secret)
    # kansa1 also becomes an administrator, so a password still signs them in after the revocation.
    kansa = operators.console_actor(conn, "kansa1")
    rights_ledger.approve(conn, rights_ledger.apply(conn, "kansa1", "admin", "管理も", kansa), system.admin)
    rights_ledger.revoke(conn, grant, system.admin, "監査業務の終了")
    second = sessions.sign_in_password(conn, settings, system.terminal, "kansa1", PASSWORD)
    info = sessions.info(conn, second.secret)
    assert info is not None and info.notice is not None
    assert "前回のサインインの後" in info.notice and "（理由: 監査業務の終了）" in info.notice
    assert sessions.take_notice(conn, info) == info.notice
    again = sessions.info(conn, second.secret)
    assert again is not None and again.notice is None and sessions.take_notice(conn, again) is None
