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
    "bindings",
    "load_matrix",
    "matrix",
    "password_allowed",
    "password_roles",
    "require",
    "role_spec",
    "split_role",
]

#: The role whose holders approve rights; the bootstrap grants it and the last one cannot be revoked.
ADMIN_ROLE = "admin"
_ROLE_KEYS = frozenset({"label", "description", "password_allowed", "allow", "bound_to"})
#: A role bound to something (a requester of the provision catalog) is granted as "<role>@<code>":
#: the grant names what it is bound to, so the rights ledger and the inventory show it.
BINDING_SEPARATOR = "@"


def split_role(name: str) -> tuple[str, str | None]:
    """("provision_operator", "kyoiku") for "provision_operator@kyoiku"; (name, None) for a plain role."""
    base, sep, binding = name.partition(BINDING_SEPARATOR)
    return (base, binding) if sep else (name, None)


_FUNCTION_KEYS = frozenset({"requires_bulk_terminal"})


@dataclass(frozen=True)
class RoleSpec:
    """One role of the matrix."""

    name: str
    label: str  # Japanese, as shown at the terminal and in the inventory
    description: str
    password_allowed: bool
    allow: frozenset[tuple[Function, FileKind | None]]
    bound_to: str | None = None  # "requester": granted only as "<role>@<requester code>"


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
        return any((function, file) in spec.allow for spec, _ in self._resolved(roles) if spec is not None)

    def _resolved(self, roles: Iterable[str]) -> Iterable[tuple[RoleSpec | None, str | None]]:
        """Each role's spec and binding; None for an unknown role or a binding that does not fit
        (a bound role without its binding, or a plain role with one, allows nothing)."""
        for name in roles:
            base, binding = split_role(name)
            spec = self.roles.get(base)
            fits = spec is not None and (spec.bound_to is None) == (binding is None) and binding != ""
            yield (spec if fits else None), binding

    def bindings(
        self, roles: Iterable[str], function: Function, file: FileKind | None, *, bulk_enabled: bool
    ) -> frozenset[str]:
        """What the bound roles among ``roles`` that allow ``function`` on ``file`` are bound to:
        the requesters an operator may act for (a requester's operator never acts for another)."""
        if function in self.bulk_functions and not bulk_enabled:
            return frozenset()
        return frozenset(
            binding
            for spec, binding in self._resolved(roles)
            if spec is not None and binding is not None and (function, file) in spec.allow
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
            bound_to=_bound_to(name, spec.get("bound_to")),
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


def _bound_to(role: str, value: object) -> str | None:
    if value is None:
        return None
    if value != "requester":
        raise ValueError(f"permissions: role {role}: bound_to must be 'requester'")
    return "requester"


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


def bindings(actor: Actor | None, function: Function, file: FileKind | None) -> frozenset[str]:
    """The requesters `actor` may act for in `function` on `file` (roles "<role>@<code>")."""
    if actor is None:
        return frozenset()
    return matrix().bindings(actor.roles, function, file, bulk_enabled=actor.bulk_enabled)


def role_spec(role: str) -> RoleSpec:
    """The role's definition ("<role>@<binding>" for a bound role), or T_ROLE_UNKNOWN."""
    base, binding = split_role(role)
    spec = matrix().roles.get(base)
    if spec is None or (spec.bound_to is None) != (binding is None) or binding == "":
        raise Refusal("T_ROLE_UNKNOWN", role)
    return spec


def password_allowed(roles: Iterable[str]) -> bool:
    """Whether any of `roles` lets its holder sign in with ID + password (S-02, S-03)."""
    return bool(password_roles(roles))


def password_roles(roles: Iterable[str]) -> frozenset[str]:
    """The roles that a password session carries: those whose password_allowed is true (S-01)."""
    known = matrix().roles
    return frozenset(
        r for r in roles if split_role(r)[0] in known and known[split_role(r)[0]].password_allowed
    )
