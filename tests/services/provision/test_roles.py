"""Roles bound to a requester (docs/provision.md §3): a grant names the requester its holder acts for."""

from __future__ import annotations

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access import operators, permissions, rights_ledger
from juki.services.access.actor import Function
from tests.services.access.support import Conn, System, operator_with_roles


def test_a_provision_role_must_name_its_requester(conn: Conn, settings: Settings, system: System) -> None:
    """The bare role is unknown; "<role>@<requester>" is granted through the rights ledger and gives
    the provision function for that requester only; a plain role with a binding allows nothing."""
    with pytest.raises(Refusal) as bare:
        permissions.role_spec("provision_operator")
    assert bare.value.code == "T_ROLE_UNKNOWN"
    with pytest.raises(Refusal):
        permissions.role_spec("pref_operator@kyoiku")
    operator_with_roles(conn, settings, system, "kyoiku1", "provision_operator@kyoiku")
    actor = operators.console_actor(conn, "kyoiku1")
    assert actor.roles == frozenset({"provision_operator@kyoiku"})
    assert permissions.allows(actor, Function.PROVISION, FileKind.PREF)
    assert permissions.bindings(actor, Function.PROVISION, FileKind.PREF) == {"kyoiku"}
    assert permissions.bindings(actor, Function.PROVISION, FileKind.FUHYO) == {"kyoiku"}
    assert not permissions.allows(actor, Function.SEARCH, FileKind.PREF)
    labels = {r.role: r.role_label for r in rights_ledger.inventory(conn)}
    assert labels["provision_operator@kyoiku"] == "提供・移転 依頼元担当（kyoiku）"
    assert not permissions.matrix().allows(
        {"pref_operator@kyoiku", "provision_operator@"}, Function.PROVISION, FileKind.PREF, bulk_enabled=True
    )
