"""Conflicting roles (issue 10 item 10; S-07, S-08, S-12): an auditor who is also a 本人確認情報 担当
would review their own searches. Pairs from data/role_conflicts.toml, mode warn or refuse, checked
at application and again at approval."""

from __future__ import annotations

import pytest

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, rights_ledger, role_conflicts
from tests.services.access.support import Conn, System, log_rows, operator_with_roles, second_admin

WARN = role_conflicts.policy().with_mode("warn")
REFUSE = role_conflicts.policy().with_mode("refuse")


def test_default_pairs_are_the_auditor_and_the_file_operators() -> None:
    """The shipped table: 監査担当 × 本人確認情報 担当 / 附票本人確認情報 担当."""
    pairs = role_conflicts.policy().pairs
    assert frozenset({"auditor", "pref_operator"}) in pairs
    assert frozenset({"auditor", "fuhyo_operator"}) in pairs
    assert role_conflicts.conflicting(WARN, "auditor", ["pref_operator", "bulk_output"]) == ["pref_operator"]


def test_policy_file_refuses_unknown_roles_and_modes() -> None:
    """A typo must not silently drop a pair or keep another mode."""
    with pytest.raises(ValueError, match="unknown role"):
        role_conflicts.load_policy('mode = "warn"\npairs = [["auditor", "pref_operatr"]]')
    with pytest.raises(ValueError, match="mode"):
        role_conflicts.load_policy('mode = "block"\npairs = []')
    with pytest.raises(ValueError):
        WARN.with_mode("off")


def test_S12_conflicting_application_refused_in_refuse_mode(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Refuse mode: an auditor applying for 本人確認情報 担当 is refused (T_RIGHTS_CONFLICT), logged."""
    operator_with_roles(conn, settings, system, "kansa1", "auditor")
    me = operators.console_actor(conn, "kansa1")
    with pytest.raises(Refusal) as refused:
        rights_ledger.apply(conn, "kansa1", "pref_operator", "検索も", me, conflicts=REFUSE)
    assert refused.value.code == "T_RIGHTS_CONFLICT" and "監査担当" in (refused.value.detail or "")
    assert rights_ledger.applications(conn) == []
    rows = [r for r in log_rows(admin_conn) if r["detail"].get("refusal") == "T_RIGHTS_CONFLICT"]
    assert len(rows) == 1 and rows[0]["outcome"] == "rejected"


def test_S12_conflicting_application_warned_in_warn_mode(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Warn mode: the application and the approval go through; both log rows carry the pair."""
    operator_with_roles(conn, settings, system, "kansa1", "auditor")
    me = operators.console_actor(conn, "kansa1")
    application = rights_ledger.apply(conn, "kansa1", "pref_operator", "検索も", me, conflicts=WARN)
    assert rights_ledger.conflicts_of(conn, me.operator_id, "pref_operator", WARN) == ["auditor"]
    rights_ledger.approve(conn, application, system.admin, "兼務の承認", conflicts=WARN)
    assert rights_ledger.current_roles(conn, me.operator_id) == {"auditor", "pref_operator"}
    noted = [r["detail"] for r in log_rows(admin_conn) if "conflicts" in r["detail"]]
    assert [(d["event"], d["conflicts"], d["conflict_mode"]) for d in noted] == [
        ("rights_apply", ["auditor"], "warn"),
        ("rights_approve", ["auditor"], "warn"),
    ]


def test_S12_conflict_checked_again_at_approval(
    conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """Two applications filed before either was approved (the pending one counts at application
    time, so the second is refused at once in refuse mode); in warn mode both are filed, and after
    one is approved, approving the other is refused when the installation has switched to refuse."""
    operator, _ = operator_with_roles(conn, settings, system, "kato")
    me = operators.console_actor(conn, "kato")
    first = rights_ledger.apply(conn, "kato", "auditor", "監査", me, conflicts=REFUSE)
    with pytest.raises(Refusal, match="T_RIGHTS_CONFLICT"):  # pending auditor application counts
        rights_ledger.apply(conn, "kato", "fuhyo_operator", "附票", me, conflicts=REFUSE)
    second = rights_ledger.apply(conn, "kato", "fuhyo_operator", "附票", me, conflicts=WARN)
    rights_ledger.approve(conn, first, system.admin, conflicts=REFUSE)
    admin2 = second_admin(conn, settings, system)
    with pytest.raises(Refusal, match="T_RIGHTS_CONFLICT"):
        rights_ledger.approve(conn, second, admin2, conflicts=REFUSE)
    assert rights_ledger.current_roles(conn, operator.id) == {"auditor"}
    assert [a.id for a in rights_ledger.applications(conn)] == [second]  # still pending
