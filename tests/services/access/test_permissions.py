"""The permission matrix (REQUIREMENTS S-01, S-03, S-07)."""

from __future__ import annotations

import pytest

from juki.domain.records import FileKind
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, TerminalKind


def actor(*roles: str, bulk: bool = False) -> Actor:
    return Actor(
        operator_id=1,
        login="x",
        roles=frozenset(roles),
        terminal_id=1,
        terminal_name="t",
        terminal_kind=TerminalKind.BUSINESS,
        bulk_enabled=bulk,
    )


def test_S07_matrix_grants_each_role_its_functions_only() -> None:
    """S-07: rights follow the role; each role allows its own functions and files and nothing else."""
    assert permissions.allows(actor("pref_operator"), Function.SEARCH, FileKind.PREF)
    assert permissions.allows(actor("pref_operator"), Function.VIEW_RECORD, FileKind.PREF)
    assert not permissions.allows(actor("pref_operator"), Function.SEARCH, FileKind.FUHYO)
    assert permissions.allows(actor("fuhyo_operator"), Function.SEARCH, FileKind.FUHYO)
    assert not permissions.allows(actor("fuhyo_operator"), Function.VIEW_RECORD, FileKind.PREF)
    assert permissions.allows(actor("auditor"), Function.LOG_REVIEW, None)
    assert not permissions.allows(actor("auditor"), Function.SEARCH, FileKind.PREF)
    assert permissions.allows(actor("admin"), Function.RIGHTS_ADMIN, None)
    assert not permissions.allows(actor("admin"), Function.SEARCH, FileKind.PREF)
    assert not permissions.allows(actor("admin"), Function.LOG_REVIEW, None)
    assert permissions.allows(actor("pref_operator", "fuhyo_operator"), Function.SEARCH, FileKind.FUHYO)


def test_S07_deny_by_default_for_anything_unknown() -> None:
    """S-07: no actor, no role, an unknown role, function or file: all denied."""
    assert not permissions.allows(None, Function.SEARCH, FileKind.PREF)
    assert not permissions.allows(actor(), Function.SEARCH, FileKind.PREF)
    assert not permissions.allows(actor("superuser"), Function.SEARCH, FileKind.PREF)
    assert not permissions.allows(actor("pref_operator"), "delete_everything", FileKind.PREF)
    assert not permissions.allows(actor("pref_operator"), Function.SEARCH, "file3")
    assert not permissions.allows(actor("pref_operator"), Function.SEARCH, None)


def test_S07_output_needs_the_bulk_role_and_a_bulk_enabled_terminal() -> None:
    """S-07 (and S-29): output needs the bulk_output role *and* a terminal registered as bulk-enabled."""
    assert permissions.allows(actor("bulk_output", bulk=True), Function.OUTPUT, FileKind.PREF)
    assert not permissions.allows(actor("bulk_output", bulk=False), Function.OUTPUT, FileKind.PREF)
    assert not permissions.allows(actor("pref_operator", bulk=True), Function.OUTPUT, FileKind.PREF)


def test_S01_S03_roles_touching_personal_data_need_webauthn() -> None:
    """S-01/S-03: a role allowing any function on File 1 or File 2 never allows password sign-in."""
    for spec in permissions.matrix().roles.values():
        touches = any(file is not None for _, file in spec.allow)
        if touches:
            assert not spec.password_allowed, spec.name
        assert spec.label  # Japanese label for the screens and the inventory
    assert permissions.matrix().roles["admin"].password_allowed
    assert permissions.matrix().roles["auditor"].password_allowed
    assert permissions.password_roles({"admin", "pref_operator", "nonsense"}) == {"admin"}


def test_S07_matrix_file_refuses_typos() -> None:
    """S-07: an unknown function, file or key in permissions.toml stops the program, never opens a door."""
    base = '[roles.admin]\nlabel = "管理"\npassword_allowed = true\n'
    with pytest.raises(ValueError):
        permissions.load_matrix(base + 'allow = { serach = ["pref"] }\n')
    with pytest.raises(ValueError):
        permissions.load_matrix(base + 'allow = { search = ["prefs"] }\n')
    with pytest.raises(ValueError):
        permissions.load_matrix(base + "passwd_allowed = true\n")
    with pytest.raises(ValueError):
        permissions.load_matrix('[roles.x]\nlabel = "x"\npassword_allowed = false\n')  # no admin role
    loaded = permissions.load_matrix(base + 'allow = { search = ["pref"] }\n')
    assert loaded.allows({"admin"}, Function.SEARCH, FileKind.PREF, bulk_enabled=False)
