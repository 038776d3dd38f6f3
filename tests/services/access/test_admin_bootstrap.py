"""The first setup's one door to a second administrator (issue 10 item 10; S-08, S-12).

With one administrator no grant can be approved by "another administrator"; `juki admin bootstrap`
issues a one-time, time-limited grant for exactly one second administrator, redeemed by the signed-in
first administrator and recorded as system:bootstrap with the OS user. Once two administrator
grants have existed, the door is closed for good.
"""

from __future__ import annotations

import dataclasses

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import bootstrap, operators, rights_ledger
from tests.services.access.support import Conn, System, log_rows, operator_with_roles


def test_S12_bootstrap_grant_registers_exactly_one_second_administrator(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-12 / issue 10: the grant, issued on the bootstrap channel with the OS user, lets the signed-in
    first administrator register one second administrator; it is single use, the ledger and the
    inventory show a bootstrap grant by admin1, and the log names both people."""
    token = bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    bootstrap.check_second_admin_grant(conn, token)
    second = bootstrap.redeem_second_admin_grant(conn, settings, token, system.admin, "Admin2", "管理 二郎")
    assert second.operator.login == "admin2"
    assert rights_ledger.current_roles(conn, second.operator.id) == {"admin"}
    assert len(second.enrolment_token) >= 40
    entry = rights_ledger.ledger_entries(conn, "admin2")[-1]
    assert (entry.event, entry.role, entry.by_login) == ("bootstrap_granted", "admin", "admin1")
    row = next(r for r in rights_ledger.inventory(conn) if r.operator_login == "admin2")
    assert row.bootstrap
    issued = [r for r in log_rows(admin_conn) if r["detail"].get("event") == "bootstrap_second_admin_grant"]
    assert [(r["actor_kind"], r["claimed_login"], r["outcome"]) for r in issued] == [
        ("system:bootstrap", "setup-user", "allow")
    ]
    redeemed = [
        r for r in log_rows(admin_conn) if r["detail"].get("event") == "rights_bootstrap_second_admin"
    ]
    assert [(r["operator_login"], r["target"], r["detail"]["grant_issued_by"]) for r in redeemed] == [
        ("admin1", "admin2", "os:setup-user")
    ]
    with pytest.raises(Refusal) as used:
        bootstrap.redeem_second_admin_grant(conn, settings, token, system.admin, "admin3", "三郎")
    assert used.value.code == "T_ENROLMENT_INVALID"
    assert "admin3" not in [o.login for o in operators.list_operators(conn)]


def test_S12_bootstrap_path_closes_for_good_once_two_administrators_existed(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Issue 10: after two administrator grants have existed the path refuses (T_BOOTSTRAP_CLOSED) —
    an unused grant issued before, a new grant, and still after the second administrator's grant is
    revoked again; the refusals are logged."""
    early = bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    late = bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):  # a new grant cancels the older one
        bootstrap.check_second_admin_grant(conn, early)
    second = bootstrap.redeem_second_admin_grant(conn, settings, late, system.admin, "admin2", "管理 二郎")
    with pytest.raises(Refusal) as closed:
        bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    assert closed.value.code == "T_BOOTSTRAP_CLOSED"
    admin2 = operators.console_actor(conn, "admin2")
    grant = next(r.grant_id for r in rights_ledger.inventory(conn) if r.operator_login == "admin2")
    rights_ledger.revoke(conn, grant, admin2, "検証のため")  # admin1 is again the only administrator
    assert rights_ledger.current_roles(conn, second.operator.id) == frozenset()
    with pytest.raises(Refusal, match="T_BOOTSTRAP_CLOSED"):
        bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    refused = [
        r
        for r in log_rows(admin_conn)
        if r["detail"].get("event") == "bootstrap_second_admin_grant" and r["outcome"] == "rejected"
    ]
    assert len(refused) == 2 and refused[0]["claimed_login"] == "setup-user"


def test_S12_bootstrap_closed_when_the_second_administrator_was_approved(
    conn: Conn, settings: Settings, system: System
) -> None:
    """Whichever way the second administrator came (here: their own application, approved by admin1),
    an unused grant no longer works."""
    token = bootstrap.issue_second_admin_grant(conn, settings, os_user=None)
    operator_with_roles(conn, settings, system, "admin2", "admin")
    with pytest.raises(Refusal, match="T_BOOTSTRAP_CLOSED"):
        bootstrap.check_second_admin_grant(conn, token)
    with pytest.raises(Refusal, match="T_BOOTSTRAP_CLOSED"):
        bootstrap.redeem_second_admin_grant(conn, settings, token, system.admin, "admin3", "三郎")


def test_S07_bootstrap_grant_needs_a_signed_in_administrator_and_expires(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-07: a non-administrator cannot redeem it (T_FORBIDDEN, logged deny, the grant stays usable);
    an expired grant is refused."""
    token = bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
    operator_with_roles(conn, settings, system, "kansa1", "auditor")
    auditor = operators.console_actor(conn, "kansa1")
    with pytest.raises(Refusal, match="T_FORBIDDEN"):
        bootstrap.redeem_second_admin_grant(conn, settings, token, auditor, "admin2", "二郎")
    bootstrap.check_second_admin_grant(conn, token)  # not used up by the refusal
    denied = [r for r in log_rows(admin_conn) if r["detail"].get("event") == "rights_bootstrap_second_admin"]
    assert [r["outcome"] for r in denied] == ["deny"]
    short = dataclasses.replace(settings, one_time_token_seconds=1)
    expired = bootstrap.issue_second_admin_grant(conn, short, os_user="setup-user")
    admin_conn.execute(
        "UPDATE term.one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'bootstrap_admin'"
    )
    with pytest.raises(Refusal, match="T_ENROLMENT_INVALID"):
        bootstrap.redeem_second_admin_grant(conn, settings, expired, system.admin, "admin2", "二郎")


def test_bootstrap_grant_needs_the_first_administrator(conn: Conn, settings: Settings) -> None:
    """Before `juki admin bootstrap` there is nobody to redeem a grant: none is issued."""
    with pytest.raises(Refusal, match="T_OPERATOR_UNKNOWN"):
        bootstrap.issue_second_admin_grant(conn, settings, os_user="setup-user")
