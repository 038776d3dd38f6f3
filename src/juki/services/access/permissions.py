"""The permission matrix: which role may use which function on which file (REQUIREMENTS S-03, S-07).

The matrix (role × function × file) is data, `juki/data/permissions.toml`, so the whole policy can be
read and reviewed in one place; this module only interprets it, denying by default: an unknown
role, function or file allows nothing. Who holds which role is the rights ledger's business
(`rights_ledger`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access.actor import Actor, Function, file_scope

__all__ = [
    "ADMIN_ROLE",
    "Matrix",
    "RoleSpec",
    "allows",
    "load_matrix",
    "matrix",
    "password_allowed",
    "password_roles",
    "require",
    "role_spec",
]

#: The role whose holders approve rights; the bootstrap grants it and the last one cannot be revoked.
ADMIN_ROLE = "admin"
_ROLE_KEYS = frozenset({"label", "description", "password_allowed", "allow"})
_FUNCTION_KEYS = frozenset({"requires_bulk_terminal"})


@dataclass(frozen=True)
class RoleSpec:
    """One role of the matrix."""

    name: str
    label: str  # Japanese, as shown at the terminal and in the inventory
    description: str
    password_allowed: bool
    allow: frozenset[tuple[Function, FileKind | None]]


@dataclass(frozen=True)
class Matrix:
    """The permission matrix as loaded from permissions.toml."""

    roles: Mapping[str, RoleSpec]
    bulk_functions: frozenset[Function]

    def allows(
        self, roles: Iterable[str], function: Function, file: FileKind | None, *, bulk_enabled: bool
    ) -> bool:
        """Whether any of `roles` allows `function` on `file` (at a bulk-enabled terminal or not)."""
        if function in self.bulk_functions and not bulk_enabled:
            return False
        return any(
            (function, file) in spec.allow
            for spec in (self.roles.get(name) for name in roles)
            if spec is not None
        )


def load_matrix(text: str) -> Matrix:
    """Parse a permissions.toml text; refuse anything unknown so a typo cannot open a door."""
    data = tomllib.loads(text)
    unknown = set(data) - {"roles", "functions"}
    if unknown:
        raise ValueError(f"permissions: unknown section(s) {sorted(unknown)}")
    roles: dict[str, RoleSpec] = {}
    for name, spec in data.get("roles", {}).items():
        extra = set(spec) - _ROLE_KEYS
        if extra:
            raise ValueError(f"permissions: role {name}: unknown key(s) {sorted(extra)}")
        if not isinstance(spec.get("password_allowed"), bool) or not spec.get("label"):
            raise ValueError(f"permissions: role {name}: label and password_allowed are required")
        allow: set[tuple[Function, FileKind | None]] = set()
        for function, files in spec.get("allow", {}).items():
            for file in files:
                allow.add((Function(function), file_scope(file)))  # ValueError on an unknown name
        roles[name] = RoleSpec(
            name=name,
            label=str(spec["label"]),
            description=str(spec.get("description", "")),
            password_allowed=spec["password_allowed"],
            allow=frozenset(allow),
        )
    bulk: set[Function] = set()
    for function, conditions in data.get("functions", {}).items():
        extra = set(conditions) - _FUNCTION_KEYS
        if extra:
            raise ValueError(f"permissions: function {function}: unknown key(s) {sorted(extra)}")
        if conditions.get("requires_bulk_terminal", False):
            bulk.add(Function(function))
    if ADMIN_ROLE not in roles:
        raise ValueError(f"permissions: the {ADMIN_ROLE!r} role is required (it approves rights)")
    return Matrix(roles=MappingProxyType(roles), bulk_functions=frozenset(bulk))


@cache
def matrix() -> Matrix:
    """The matrix shipped with the package, loaded once per process."""
    text = resources.files("juki.data").joinpath("permissions.toml").read_text(encoding="utf-8")
    return load_matrix(text)


def allows(actor: Actor | None, function: Function | str, file: FileKind | str | None) -> bool:
    """Whether `actor` may perform `function` on `file`. Deny by default: anything unknown is False."""
    if actor is None:
        return False
    try:
        fn, scope = Function(function), file_scope(file)
    except ValueError:
        return False
    return matrix().allows(actor.roles, fn, scope, bulk_enabled=actor.bulk_enabled)


def require(actor: Actor | None, function: Function, file: FileKind | None = None) -> None:
    """Raise T_FORBIDDEN unless `actor` may perform `function`; None is the server console (allowed).

    The console is whoever runs `juki` on the server with the database administrator's credentials:
    they could do anything with psql anyway, so the CLI's commands are theirs.
    """
    if actor is not None and not allows(actor, function, file):
        raise Refusal("T_FORBIDDEN")


def role_spec(role: str) -> RoleSpec:
    """The role's definition, or T_ROLE_UNKNOWN."""
    spec = matrix().roles.get(role)
    if spec is None:
        raise Refusal("T_ROLE_UNKNOWN", role)
    return spec


def password_allowed(roles: Iterable[str]) -> bool:
    """Whether any of `roles` lets its holder sign in with ID + password (S-02, S-03)."""
    return bool(password_roles(roles))


def password_roles(roles: Iterable[str]) -> frozenset[str]:
    """The roles that a password session carries: those whose password_allowed is true (S-01)."""
    known = matrix().roles
    return frozenset(r for r in roles if r in known and known[r].password_allowed)
