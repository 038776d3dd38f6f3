"""Conflicting roles: pairs one operator should not hold together (separation of duties).

The pairs and the default mode are data, `juki/data/role_conflicts.toml` (an auditor who is also a
本人確認情報 担当 by default); `Settings.role_conflict_mode` (JUKI_ROLE_CONFLICT_MODE) overrides the
mode. `rights_ledger.apply` and `approve` call `check`: in "refuse" mode a conflicting application
or approval is refused with T_RIGHTS_CONFLICT; in "warn" mode it goes through and the conflicting
roles are returned, for the screen's warning and the log row's detail.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from juki.domain.refusals import Refusal
from juki.services.access.permissions import matrix

__all__ = ["MODES", "ConflictMode", "ConflictPolicy", "check", "conflicting", "load_policy", "policy"]

ConflictMode = Literal["warn", "refuse"]
MODES: tuple[ConflictMode, ...] = ("warn", "refuse")


@dataclass(frozen=True)
class ConflictPolicy:
    """The pairs of roles that conflict, and what to do about one."""

    mode: ConflictMode
    pairs: frozenset[frozenset[str]]

    def with_mode(self, mode: str | None) -> ConflictPolicy:
        """This policy under another mode (None: unchanged); ValueError on an unknown mode."""
        if mode is None or mode == "":
            return self
        return ConflictPolicy(mode=_mode(mode), pairs=self.pairs)


def _mode(value: object) -> ConflictMode:
    for mode in MODES:
        if value == mode:
            return mode
    raise ValueError(f"role_conflicts: mode must be one of {MODES}, not {value!r}")


def load_policy(text: str) -> ConflictPolicy:
    """Parse a role_conflicts.toml text; refuse unknown keys and roles the matrix does not know."""
    data = tomllib.loads(text)
    unknown = set(data) - {"mode", "pairs"}
    if unknown:
        raise ValueError(f"role_conflicts: unknown key(s) {sorted(unknown)}")
    known = matrix().roles
    pairs: set[frozenset[str]] = set()
    for pair in data.get("pairs", []):
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError(f"role_conflicts: a pair is two different roles, not {pair!r}")
        for role in pair:
            if role not in known:
                raise ValueError(f"role_conflicts: unknown role {role!r}")
        pairs.add(frozenset(pair))
    return ConflictPolicy(mode=_mode(data.get("mode", "warn")), pairs=frozenset(pairs))


@cache
def policy() -> ConflictPolicy:
    """The policy shipped with the package, loaded once per process."""
    text = resources.files("juki.data").joinpath("role_conflicts.toml").read_text(encoding="utf-8")
    return load_policy(text)


def conflicting(rules: ConflictPolicy, role: str, others: Iterable[str]) -> list[str]:
    """The roles among `others` that conflict with `role`, sorted."""
    return sorted({other for other in others if frozenset((role, other)) in rules.pairs})


def check(rules: ConflictPolicy, role: str, others: Iterable[str]) -> list[str]:
    """The roles conflicting with `role`; in refuse mode a conflict is T_RIGHTS_CONFLICT."""
    found = conflicting(rules, role, others)
    if found and rules.mode == "refuse":
        labels = "・".join(_label(r) for r in found)
        raise Refusal("T_RIGHTS_CONFLICT", f"「{_label(role)}」と「{labels}」")
    return found


def _label(role: str) -> str:
    spec = matrix().roles.get(role)
    return spec.label if spec else role
