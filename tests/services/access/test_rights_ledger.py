"""The rights ledger (REQUIREMENTS S-07, S-08, S-09, S-11, S-12)."""

from __future__ import annotations

import psycopg
import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, rights_ledger, sessions
from tests.services.access.support import Conn, System, log_rows, operator_with_roles, second_admin
from tests.services.access.support import who as row_who


def test_S08_application_then_approval_makes_the_grant_effective(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-08: application (by the person) → approval (by an administrator) → effective, all in the ledger
    and the operation log."""
    op, _ = operators.create_operator(conn, settings, "tanaka", "田中 花子", by=system.admin)
    me = operators.console_actor(conn, "tanaka")
    application = rights_ledger.apply(conn, "tanaka", "pref_operator", "住民票の照会業務に従事", by=me)
    assert rights_ledger.current_roles(conn, op.id) == frozenset()
    pending = rights_ledger.applications(conn)
    assert [(a.id, a.operator_login, a.role, a.decision) for a in pending] == [
        (application, "tanaka", "pref_operator", None)
    ]
    grant = rights_ledger.approve(conn, application, system.admin, note="確認済み")
    assert rights_ledger.current_roles(conn, op.id) == {"pref_operator"}
    assert rights_ledger.applications(conn) == []
    events = [
        (e.event, e.operator_login, e.role, e.by_login) for e in rights_ledger.ledger_entries(conn, "tanaka")
    ]
    assert events == [
        ("applied", "tanaka", "pref_operator", "tanaka"),
        ("approved", "tanaka", "pref_operator", "admin1"),
    ]
    logged = [
        (r["function"], r["outcome"], row_who(r), r["target"], r["detail"]["event"])
        for r in log_rows(admin_conn)
        if r["function"] in ("rights_apply", "rights_admin") and r["target"] == "tanaka"
    ]
    assert logged == [
        ("rights_apply", "allow", "claimed:tanaka", "tanaka", "rights_apply"),  # at the console
        ("rights_admin", "allow", "admin1", "tanaka", "rights_approve"),
    ]
    assert grant > 0


def test_S12_an_administrator_cannot_approve_their_own_application(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-12: four eyes — the approver is neither the person concerned nor the one who filed it; the
    refusal is logged as a deny and the application stays pending."""
    own = rights_ledger.apply(conn, "admin1", "auditor", "監査も兼務", by=system.admin)
    with pytest.raises(Refusal) as refused:
        rights_ledger.approve(conn, own, system.admin)
    assert refused.value.code == "T_RIGHTS_SELF_APPROVAL"
    operators.create_operator(conn, settings, "suzuki", "鈴木", by=system.admin)
    filed = rights_ledger.apply(conn, "suzuki", "fuhyo_operator", "附票業務", by=system.admin)
    with pytest.raises(Refusal) as refused:
        rights_ledger.approve(conn, filed, system.admin)
    assert refused.value.code == "T_RIGHTS_SELF_APPROVAL"
    assert {a.id for a in rights_ledger.applications(conn)} == {own, filed}
    denies = [r for r in log_rows(admin_conn, outcome="deny") if r["detail"]["event"] == "rights_approve"]
    assert len(denies) == 2 and all(r["detail"]["refusal"] == "T_RIGHTS_SELF_APPROVAL" for r in denies)
    # A second administrator may approve both.
    other = second_admin(conn, settings, system)
    rights_ledger.approve(conn, own, other)
    rights_ledger.approve(conn, filed, other)
    assert rights_ledger.current_roles(conn, system.admin.operator_id) == {"admin", "auditor"}


def test_S07_only_administrators_decide_and_applying_for_others_needs_a_right(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-07/S-08: a pref operator can neither approve nor apply for a colleague; each refusal is logged."""
    operator_with_roles(conn, settings, system, "sato", "pref_operator")
    operators.create_operator(conn, settings, "kato", "加藤", by=system.admin)
    sato = operators.console_actor(conn, "sato")
    application = rights_ledger.apply(
        conn, "kato", "pref_operator", "応援", by=operators.console_actor(conn, "kato")
    )
    with pytest.raises(Refusal) as refused:
        rights_ledger.approve(conn, application, sato)
    assert refused.value.code == "T_FORBIDDEN"
    with pytest.raises(Refusal) as refused:
        rights_ledger.apply(conn, "kato", "fuhyo_operator", "応援", by=sato)
    assert refused.value.code == "T_FORBIDDEN"
    denied = [(row_who(r), r["detail"]["event"]) for r in log_rows(admin_conn, outcome="deny")]
    assert denied == [("claimed:sato", "rights_approve"), ("claimed:sato", "rights_apply")]  # console --as


def test_S08_applications_are_checked(conn: Conn, settings: Settings, system: System) -> None:
    """S-08: unknown role, missing reason, a role already held or already applied for are refused."""
    operators.create_operator(conn, settings, "ito", "伊藤", by=system.admin)
    ito = operators.console_actor(conn, "ito")
    cases = [
        (("ito", "root", "理由"), "T_ROLE_UNKNOWN"),
        (("ito", "auditor", "  "), "T_REASON_REQUIRED"),
        (("nobody", "auditor", "理由"), "T_OPERATOR_UNKNOWN"),
    ]
    for (who, role, reason), code in cases:
        with pytest.raises(Refusal) as refused:
            rights_ledger.apply(conn, who, role, reason, by=ito if who == "ito" else system.admin)
        assert refused.value.code == code
    rights_ledger.apply(conn, "ito", "auditor", "監査", by=ito)
    with pytest.raises(Refusal, match="T_RIGHTS_STATE"):
        rights_ledger.apply(conn, "ito", "auditor", "監査", by=ito)
    with pytest.raises(Refusal, match="T_RIGHTS_STATE"):
        rights_ledger.apply(conn, "admin1", "admin", "再申請", by=system.admin)


def test_S08_rejection_is_recorded_with_its_reason(conn: Conn, settings: Settings, system: System) -> None:
    """S-08: a rejected application grants nothing; the ledger keeps who rejected it and why."""
    op, _ = operators.create_operator(conn, settings, "mori", "森", by=system.admin)
    application = rights_ledger.apply(
        conn, op.id, "bulk_output", "一括出力", by=operators.console_actor(conn, "mori")
    )
    with pytest.raises(Refusal, match="T_REASON_REQUIRED"):
        rights_ledger.reject(conn, application, system.admin, "")
    rights_ledger.reject(conn, application, system.admin, "業務上不要")
    assert rights_ledger.current_roles(conn, op.id) == frozenset()
    with pytest.raises(Refusal, match="T_RIGHTS_STATE"):
        rights_ledger.approve(conn, application, system.admin)
    decided = rights_ledger.applications(conn, pending_only=False)
    assert [(a.decision, a.decided_by_login, a.note) for a in decided if a.id == application] == [
        ("rejected", "admin1", "業務上不要")
    ]
    assert [e.event for e in rights_ledger.ledger_entries(conn, "mori")] == ["applied", "rejected"]


def test_S09_revocation_is_immediate_and_ends_open_sessions(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-09: revoking a grant ends the operator's open sessions in the same transaction; the ledger and
    the log record it; the role is gone at once."""
    op, token = operator_with_roles(conn, settings, system, "ueda", "auditor")
    operators.enrol_password(conn, token, "ueda-password-1234")
    signed = sessions.sign_in_password(conn, settings, system.terminal, "ueda", "ueda-password-1234")
    assert sessions.resolve(conn, settings, system.terminal, signed.secret).roles == {"auditor"}
    grant = next(r.grant_id for r in rights_ledger.inventory(conn) if r.operator_login == "ueda")
    with pytest.raises(Refusal, match="T_REASON_REQUIRED"):
        rights_ledger.revoke(conn, grant, system.admin, " ")
    ended = rights_ledger.revoke(conn, grant, system.admin, "人事異動（転出）")
    assert ended == 1
    with pytest.raises(Refusal) as refused:
        sessions.resolve(conn, settings, system.terminal, signed.secret)
    assert refused.value.code == "T_SESSION_ENDED"
    assert rights_ledger.current_roles(conn, op.id) == frozenset()
    assert [e.event for e in rights_ledger.ledger_entries(conn, "ueda")] == ["applied", "approved", "revoked"]
    row = admin_conn.execute(
        "SELECT end_reason FROM term.sessions WHERE operator_id = %s", (op.id,)
    ).fetchone()
    assert row == ("rights_revoked",)
    revoked = [r for r in log_rows(admin_conn, target="ueda") if r["detail"]["event"] == "rights_revoke"]
    assert revoked[0]["detail"]["sessions_ended"] == 1
    with pytest.raises(Refusal, match="T_RIGHTS_STATE"):
        rights_ledger.revoke(conn, grant, system.admin, "二重取消")


def test_S07_a_session_sees_the_ledger_as_it_is_now(conn: Conn, settings: Settings, system: System) -> None:
    """S-07: a role approved while the operator is signed in is there on the next request."""
    session_roles = sessions.resolve(conn, settings, system.terminal, system.session_secret).roles
    assert session_roles == {"admin"}
    application = rights_ledger.apply(conn, "admin1", "auditor", "兼務", by=system.admin)
    rights_ledger.approve(conn, application, second_admin(conn, settings, system))
    assert sessions.resolve(conn, settings, system.terminal, system.session_secret).roles == {
        "admin",
        "auditor",
    }


def test_S09_the_last_administrator_cannot_be_revoked(conn: Conn, settings: Settings, system: System) -> None:
    """S-09: revoking the only admin grant would leave nobody to approve anything: refused."""
    grant = next(r.grant_id for r in rights_ledger.inventory(conn) if r.operator_login == "admin1")
    with pytest.raises(Refusal, match="T_RIGHTS_LAST_ADMIN"):
        rights_ledger.revoke(conn, grant, system.admin, "退職")
    other = second_admin(conn, settings, system)
    assert rights_ledger.revoke(conn, grant, other, "退職") == 1  # admin1's own session ends
    with pytest.raises(Refusal, match="T_RIGHTS_NOT_FOUND"):
        rights_ledger.revoke(conn, 999_999, other, "x")


def test_S11_inventory_lists_who_holds_what_since_when_approved_by_whom(
    conn: Conn, settings: Settings, system: System
) -> None:
    """S-11: the inventory report: holder, role (Japanese label), since, applicant, approver; the
    bootstrap grant is shown as such; revoked grants are not listed."""
    operator_with_roles(conn, settings, system, "nakamura", "pref_operator", "fuhyo_operator")
    rows = rights_ledger.inventory(conn)
    summary = [
        (r.operator_login, r.role, r.role_label, r.bootstrap, r.requested_by_login, r.approved_by_login)
        for r in rows
    ]
    assert summary == [
        ("admin1", "admin", "システム管理者", True, None, None),
        ("nakamura", "fuhyo_operator", "附票本人確認情報 担当", False, "nakamura", "admin1"),
        ("nakamura", "pref_operator", "本人確認情報 担当", False, "nakamura", "admin1"),
    ]
    assert all(r.effective_at is not None for r in rows)
    assert rows[1].approved_at is not None and rows[1].reason == "業務のため"
    assert rows[1].as_dict()["role_label"] == "附票本人確認情報 担当"
    rights_ledger.revoke(conn, rows[2].grant_id, system.admin, "異動")
    assert [(r.operator_login, r.role) for r in rights_ledger.inventory(conn)] == [
        ("admin1", "admin"),
        ("nakamura", "fuhyo_operator"),
    ]


def test_S08_the_ledger_is_append_only(conn: Conn, settings: Settings, system: System) -> None:
    """S-08/S-09: the ledger, the applications and the decisions cannot be rewritten, even by their owner."""
    operator_with_roles(conn, settings, system, "abe", "auditor")
    for statement in (
        "UPDATE term.rights_ledger SET reason = 'x'",
        "DELETE FROM term.rights_ledger",
        "TRUNCATE term.rights_ledger CASCADE",
        "UPDATE term.rights_applications SET reason = 'x'",
        "DELETE FROM term.rights_applications",
        "TRUNCATE term.rights_applications CASCADE",
        "UPDATE term.rights_decisions SET decision = 'rejected'",
        "TRUNCATE term.rights_decisions",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM term.rights_ledger").fetchone() == (3,)


def test_S07_console_actor_carries_the_current_roles(conn: Conn, system: System) -> None:
    """S-07: the CLI acts as a named administrator with the roles the ledger gives them."""
    admin = operators.console_actor(conn, "ADMIN1")
    assert admin.roles == {"admin"} and admin.terminal_name == "(console)"
    with pytest.raises(Refusal, match="T_OPERATOR_UNKNOWN"):
        operators.console_actor(conn, "ghost")
