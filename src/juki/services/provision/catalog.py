"""The legal-basis catalog of provision and transfer (REQUIREMENTS F1-2, F2-2, S-28, A-15; LEGAL.md §1–2).

Who may receive which items of which file, for which task, by which key and method, and whether a
国外転出者's 個人番号 may be added. It is data, not code: shipped as an example in
``juki/data/provision_catalog.toml`` (loaded as version 1 by migration 0020), kept in the database
(``provision.catalog_proposals`` / ``catalog_decisions``, owned by ``juki_term_owner``) and read at
run time with :func:`load_catalog`. A change is a whole new version: proposed by one administrator,
approved by another (:mod:`juki.services.provision.catalog_changes`), like the rights ledger.

This module only parses and answers questions; it validates every entry against the law's limits
(LEGAL.md): items within the file's D1-PS / D2-PS and never 住民票コード, the legal path matching the
requester's kind, no paper for File 2, the 個人番号 add-on only for File 2 tasks.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import psycopg
import pyrage

from juki.domain.provision import (
    NEVER_PROVIDED,
    KeyType,
    LegalPath,
    Method,
    RequesterKind,
    ResultCode,
)
from juki.domain.records import FileKind
from juki.files import file_spec

__all__ = [
    "Catalog",
    "CatalogError",
    "Requester",
    "Task",
    "build_catalog",
    "load_catalog",
    "parse_toml",
    "shipped_text",
]


class CatalogError(ValueError):
    """The catalog text breaks a rule; the message says which entry and why (Japanese)."""


@dataclass(frozen=True)
class Requester:
    """An executive organ (提供) or a department of the governor (移転) that may request."""

    code: str
    name: str
    kind: RequesterKind
    head_role: str | None = None  # who gives the prior approval of large outputs (S-26)
    example: bool = False
    # The age public key its media outputs are encrypted to (S-30). In the catalog, so that a key change
    # is a four-eyes catalog change like any other decision about what leaves and to whom.
    age_recipient: str | None = None


@dataclass(frozen=True)
class Task:
    """One task of one requester, with everything the law lets it receive."""

    requester: Requester
    code: str
    name: str
    legal_path: LegalPath
    citation: str
    items: Mapping[FileKind, tuple[str, ...]]  # per file, within D1-PS / D2-PS, never 住民票コード
    keys: frozenset[KeyType]
    my_number_addon: bool  # File 2: a 国外転出者's 個人番号 may be added (番号法 tasks only)
    methods: frozenset[Method]
    valid_from: date
    valid_to: date | None = None
    example: bool = False

    @property
    def files(self) -> frozenset[FileKind]:
        return frozenset(self.items)

    def legal_path_label(self, file: FileKind) -> str:
        spec = file_spec(file)
        return self.legal_path.label(spec.provision_article, spec.provision_organ_paragraph)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def keys_for(self, file: FileKind) -> tuple[KeyType, ...]:
        """The keys this task allows on ``file``, in a stable order (File 2 has no 個人番号 key)."""
        holds = file_spec(file).holds_my_number
        return tuple(k for k in KeyType if k in self.keys and (holds or k is not KeyType.MY_NUMBER))

    def methods_for(self, file: FileKind) -> tuple[Method, ...]:
        allowed = file_spec(file).provision_methods
        return tuple(m for m in Method if m in self.methods and m.value in allowed)


@dataclass(frozen=True)
class Catalog:
    """One approved version of the catalog."""

    version: int
    requesters: Mapping[str, Requester]
    tasks: Mapping[tuple[str, str], Task]

    def requester(self, code: str) -> Requester | None:
        return self.requesters.get(code)

    def task(self, requester: str, code: str) -> Task | None:
        return self.tasks.get((requester, code))

    def tasks_of(self, requester: str, file: FileKind | None = None) -> list[Task]:
        return [
            t
            for (r, _), t in sorted(self.tasks.items())
            if r == requester and (file is None or file in t.items)
        ]

    def check(
        self, task: Task, file: FileKind, key_type: KeyType, method: Method, on_date: date
    ) -> ResultCode | None:
        """Why ``task`` may not be served on ``file`` by ``key_type`` and ``method`` on ``on_date``;
        None when it may. The order is the law's: the task and file first, then key, then method."""
        if self.task(task.requester.code, task.code) != task:
            return ResultCode.NOT_PERMITTED
        if file not in task.items or not task.valid_on(on_date):
            return ResultCode.NOT_PERMITTED
        if key_type not in task.keys_for(file):
            return ResultCode.KEY_NOT_ALLOWED
        if method not in task.methods_for(file):
            return ResultCode.METHOD_NOT_ALLOWED
        return None


# ------------------------------------------------------------------------------------ parsing


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key} は空でない文字列で指定してください")
    return value.strip()


def _day(value: Any, key: str, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise CatalogError(f"{where}: {key} は日付（YYYY-MM-DD）で指定してください") from None


def _enum_list(values: Any, enum: type[Any], key: str, where: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise CatalogError(f"{where}: {key} を1つ以上指定してください")
    try:
        return sorted({enum(v).value for v in values})
    except ValueError:
        raise CatalogError(f"{where}: {key} に未定義の値があります: {values}") from None


_AGE_RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}")


def _age_recipient(value: Any, where: str) -> str:
    """An age X25519 public key (age1…); never an identity (AGE-SECRET-KEY-…): no private key is stored."""
    text = str(value).strip()
    if not _AGE_RECIPIENT.fullmatch(text):
        raise CatalogError(f"{where}: age_recipient は age の公開鍵（age1…）で指定してください")
    try:
        pyrage.x25519.Recipient.from_str(text)
    except Exception:
        raise CatalogError(f"{where}: age_recipient は age の公開鍵として読めません") from None
    return text


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog as JSON-able content (dates as ISO text, lists sorted), validated."""
    unknown = set(data) - {"requester", "task"}
    if unknown:
        raise CatalogError(f"未定義の区分があります: {sorted(unknown)}")
    requesters: dict[str, dict[str, Any]] = {}
    for entry in data.get("requester", []):
        where = f"requester {entry.get('code', '?')}"
        extra = set(entry) - {"code", "name", "kind", "head", "example", "age_recipient"}
        if extra:
            raise CatalogError(f"{where}: 未定義の項目 {sorted(extra)}")
        code = _text(entry, "code", where)
        if code in requesters:
            raise CatalogError(f"{where}: 依頼元コードが重複しています")
        try:
            kind = RequesterKind(entry.get("kind")).value
        except ValueError:
            raise CatalogError(f"{where}: kind は organ または department です") from None
        requesters[code] = {
            "code": code,
            "name": _text(entry, "name", where),
            "kind": kind,
            "head": str(entry["head"]).strip() if entry.get("head") else None,
            "example": bool(entry.get("example", False)),
        }
        if entry.get("age_recipient") is not None:
            # Only when given, so a version without keys stays byte-equal to what 0020 stored.
            requesters[code]["age_recipient"] = _age_recipient(entry["age_recipient"], where)
    tasks: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    allowed_keys = {
        "requester",
        "code",
        "name",
        "legal_path",
        "citation",
        "keys",
        "methods",
        "my_number_addon",
        "valid_from",
        "valid_to",
        "example",
        "items",
    }
    for entry in data.get("task", []):
        where = f"task {entry.get('requester', '?')}/{entry.get('code', '?')}"
        extra = set(entry) - allowed_keys
        if extra:
            raise CatalogError(f"{where}: 未定義の項目 {sorted(extra)}")
        requester = _text(entry, "requester", where)
        if requester not in requesters:
            raise CatalogError(f"{where}: 依頼元 {requester} が定義されていません")
        code = _text(entry, "code", where)
        if (requester, code) in seen:
            raise CatalogError(f"{where}: 事務コードが重複しています")
        seen.add((requester, code))
        try:
            path = LegalPath(entry.get("legal_path"))
        except ValueError:
            raise CatalogError(f"{where}: legal_path が正しくありません") from None
        if path.kind.value != requesters[requester]["kind"]:
            raise CatalogError(f"{where}: 法的根拠 {path.value} はこの依頼元の種別では使えません")
        items_in = entry.get("items")
        if not isinstance(items_in, Mapping) or not items_in:
            raise CatalogError(f"{where}: items.<ファイル> を1つ以上指定してください")
        items: dict[str, list[str]] = {}
        for file_name, columns in items_in.items():
            try:
                spec = file_spec(file_name)
            except ValueError:
                raise CatalogError(f"{where}: 未定義のファイル {file_name}") from None
            if not isinstance(columns, list) or not columns:
                raise CatalogError(f"{where}: items.{file_name} を1つ以上指定してください")
            bad = [c for c in columns if c not in spec.provided_items or c in NEVER_PROVIDED]
            if bad:
                raise CatalogError(f"{where}: items.{file_name} に提供できない項目があります: {bad}")
            # Kept in the data specification's order, whatever order the text gives.
            items[spec.value] = [c for c in spec.provided_items if c in columns]
        methods = _enum_list(entry.get("methods"), Method, "methods", where)
        for file_name in items:
            if not set(methods) & file_spec(file_name).provision_methods:
                raise CatalogError(f"{where}: {file_name} で使える提供方法がありません")
        if "paper" in methods and set(items) == {"fuhyo"}:
            raise CatalogError(f"{where}: 附票本人確認情報は帳票で提供できません")
        addon = bool(entry.get("my_number_addon", False))
        if addon and "fuhyo" not in items:
            raise CatalogError(f"{where}: 個人番号の付加は附票本人確認情報の事務にのみ指定できます")
        valid_from = _day(entry.get("valid_from"), "valid_from", where)
        valid_to = None if entry.get("valid_to") is None else _day(entry["valid_to"], "valid_to", where)
        if valid_to is not None and valid_to < valid_from:
            raise CatalogError(f"{where}: valid_to が valid_from より前です")
        tasks.append(
            {
                "requester": requester,
                "code": code,
                "name": _text(entry, "name", where),
                "legal_path": path.value,
                "citation": _text(entry, "citation", where),
                "items": items,
                "keys": _enum_list(entry.get("keys"), KeyType, "keys", where),
                "methods": methods,
                "my_number_addon": addon,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "example": bool(entry.get("example", False)),
            }
        )
    if not requesters:
        raise CatalogError("依頼元が1つもありません")
    return {"requesters": list(requesters.values()), "tasks": tasks}


def parse_toml(text: str) -> dict[str, Any]:
    """A catalog text (the shape of provision_catalog.toml) as validated, JSON-able content."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"TOMLとして読めません: {exc}") from None
    return _normalise(data)


def build_catalog(content: Mapping[str, Any], version: int) -> Catalog:
    """The catalog of stored content (as :func:`parse_toml` made it)."""
    checked = _normalise({"requester": content["requesters"], "task": content["tasks"]})
    requesters = {
        r["code"]: Requester(
            r["code"], r["name"], RequesterKind(r["kind"]), r["head"], r["example"], r.get("age_recipient")
        )
        for r in checked["requesters"]
    }
    tasks: dict[tuple[str, str], Task] = {}
    for t in checked["tasks"]:
        tasks[(t["requester"], t["code"])] = Task(
            requester=requesters[t["requester"]],
            code=t["code"],
            name=t["name"],
            legal_path=LegalPath(t["legal_path"]),
            citation=t["citation"],
            items={FileKind(f): tuple(cols) for f, cols in sorted(t["items"].items())},
            keys=frozenset(KeyType(k) for k in t["keys"]),
            my_number_addon=t["my_number_addon"],
            methods=frozenset(Method(m) for m in t["methods"]),
            valid_from=date.fromisoformat(t["valid_from"]),
            valid_to=None if t["valid_to"] is None else date.fromisoformat(t["valid_to"]),
            example=t["example"],
        )
    return Catalog(version, requesters, tasks)


def shipped_text() -> str:
    """The example catalog shipped with the package (version 1 in a new database)."""
    return resources.files("juki.data").joinpath("provision_catalog.toml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ the database

#: The approved version in force: the most recently approved proposal.
CURRENT_VERSION_SQL = """
    SELECT p.id FROM provision.catalog_proposals p
    JOIN provision.catalog_decisions d ON d.proposal_id = p.id AND d.decision = 'approved'
    ORDER BY d.decided_at DESC, p.id DESC LIMIT 1"""


#: Parsed versions by (version, md5 of the stored content). A version never changes once approved; the
#: digest keeps two databases' different version 2s apart in one process (tests, a restore).
_BUILT: dict[tuple[int, str], Catalog] = {}

#: One round trip for the catalog in force: its version and digest, and its content only when this
#: process has not parsed that version yet (%s: the digests it holds).
_IN_FORCE_SQL = """
    SELECT p.id, md5(p.content::text),
           CASE WHEN md5(p.content::text) = ANY(%s::text[]) THEN NULL ELSE p.content::text END
    FROM provision.catalog_proposals p
    JOIN provision.catalog_decisions d ON d.proposal_id = p.id AND d.decision = 'approved'
    ORDER BY d.decided_at DESC, p.id DESC LIMIT 1"""


def current_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(CURRENT_VERSION_SQL).fetchone()
    if row is None:
        raise CatalogError("承認された提供カタログがありません")
    return int(row[0])


def load_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """The catalog in force, read from the database (any of juki_pref, juki_fuhyo, juki_term).

    Each call asks the database which version is in force, so an approval takes effect at once; it is
    one round trip, and the content travels and is parsed only the first time this process meets that
    version (single provision's p99, issue 11 item 10: the catalog was two queries and a parse per call).
    """
    known = [digest for _version, digest in _BUILT]
    row = conn.execute(_IN_FORCE_SQL, (known,)).fetchone()
    if row is None:
        raise CatalogError("承認された提供カタログがありません")
    version, digest, content = int(row[0]), str(row[1]), row[2]
    key = (version, digest)
    found = _BUILT.get(key)
    if found is None:
        if content is None:  # the same content known under another version number: fetch it
            fetched = conn.execute(
                "SELECT content::text FROM provision.catalog_proposals WHERE id = %s", (version,)
            ).fetchone()
            assert fetched is not None
            content = fetched[0]
        found = _BUILT[key] = build_catalog(json.loads(str(content)), version)
    return found


def requester_codes(tasks: Iterable[Task]) -> frozenset[str]:
    return frozenset(t.requester.code for t in tasks)
