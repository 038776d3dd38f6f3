"""How the update ledger and the loader build and read each file's rows: columns, row builders.

ARCHITECTURE.md §2: both servers share one module where the function is the same and differ by a
small per-file configuration. The plain configuration (schema, tables, statuses, peers, roles) is
`juki.files.FileSpec`; a `RowSpec` adds what is behaviour — the row builders and the per-file
rules of building a row — and names its FileSpec as ``file``. Rows are plain dicts keyed by
database column names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from juki import files
from juki.domain.address import address_key
from juki.domain.checks import PersonState
from juki.domain.dates import JukiDate
from juki.domain.derive import KeyCache, name_keys, retain_until
from juki.domain.gaiji import count_gaiji, gaiji_pattern
from juki.domain.reasons import ChangeReason, applies_to, rule_for
from juki.domain.records import (
    FUHYO_NOTIFIED_ITEMS,
    PREF_NOTIFIED_ITEMS,
    EndKind,
    FileKind,
    FuhyoStatus,
    RecordStatus,
)
from juki.files import FileSpec

Row = dict[str, Any]

#: Columns of File 1's current table (files.PREF.current), in table order.
PREF_COLUMNS: tuple[str, ...] = (
    "juminhyo_code",
    "name_kanji",
    "name_gaiji_count",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "address_gaiji_count",
    "my_number",
    "change_reason",
    "change_date",
    "retention_flag",
    "seion_kana",
    "municipality_code",
    "aza_code",
    "operator_id",
    "terminal_id",
    "updated_at",
    "notified_on",
    "gaiji_flag",
    "deleted_flag",
    "update_seq",
    "name_gaiji_seq",
    "address_gaiji_seq",
    "former_surname_kanji",
    "former_surname_gaiji_count",
    "former_surname_kana",
    "former_surname_gaiji_seq",
    "status",
    "end_kind",
    "ended_on",
    "retain_until",
    "old_juminhyo_code",
    "successor_code",
    "version",
    "seion_family",
    "seion_given",
    "address_key",
    "birth_key",
)

#: Columns of File 2's current table (files.FUHYO.current), in table order.
FUHYO_COLUMNS: tuple[str, ...] = (
    "juminhyo_code",
    "name_kanji",
    "name_gaiji_count",
    "name_kana",
    "birth_date",
    "sex",
    "address_municipality_code",
    "address",
    "address_gaiji_count",
    "last_address",
    "last_address_gaiji_count",
    "change_date",
    "old_juminhyo_code",
    "fuhyo_municipality_code",
    "status",
    "gaiji_flag",
    "gaiji_pattern",
    "notification_kind",
    "change_reason",
    "notified_on",
    "end_kind",
    "successor_code",
    "update_seq",
    "version",
    "updated_at",
    "seion_kana",
    "seion_family",
    "seion_given",
    "address_key",
    "birth_key",
)

#: Extra columns of the history tables (after the current-table columns).
HISTORY_EXTRA: tuple[str, ...] = ("superseded_at", "superseded_by_seq", "superseded_by_inbox")


@dataclass(slots=True)  # not frozen: built per row in bulk loads, and a frozen init is slow
class Meta:
    """What the server, not the municipality, decides about a new version of a record."""

    juminhyo_code: str
    change_reason: str
    change_date: str  # JukiDate canonical
    status: str
    end_kind: str | None
    notified_on: date
    update_seq: int
    version: int
    updated_at: datetime
    operator_id: str
    terminal_id: str
    municipality_code: str  # File 2: the 附票管理市町村コード (the sender)
    old_juminhyo_code: str | None = None
    successor_code: str | None = None


def _birth(items: Mapping[str, object], cache: KeyCache | None) -> JukiDate:
    value = items["birth_date"]
    if isinstance(value, JukiDate):
        return value
    text = str(value)
    return cache.date(text) if cache else JukiDate.parse_canonical(text)


def _gaiji(text: str, cache: KeyCache | None) -> int:
    if cache:
        return cache.gaiji(text)
    return count_gaiji(text) if text else 0


def pref_values(items: Mapping[str, object], meta: Meta, cache: KeyCache | None = None) -> list[Any]:
    """A full File 1 row, positionally in PREF_COLUMNS order (the bulk loader's fast path)."""
    birth = _birth(items, cache)
    name_kanji = str(items["name_kanji"])
    name_kana = str(items["name_kana"])
    names = cache.name(name_kana) if cache else name_keys(name_kana)
    address = str(items["address"])
    former = str(items.get("former_surname_kanji") or "")
    name_gaiji = _gaiji(name_kanji, cache)
    address_gaiji = _gaiji(address, cache)
    former_gaiji = _gaiji(former, cache)
    ended = meta.status == RecordStatus.ENDED
    change_date = meta.change_date
    return [
        meta.juminhyo_code,
        name_kanji,
        name_gaiji,
        name_kana,
        birth.canonical(),
        str(items["sex"]),
        address,
        address_gaiji,
        str(items.get("my_number") or "") or None,
        meta.change_reason,
        change_date,
        ended,  # retention_flag
        names.seion,
        str(items["municipality_code"]),
        str(items.get("aza_code") or ""),
        meta.operator_id,
        meta.terminal_id,
        meta.updated_at,
        meta.notified_on,
        bool(name_gaiji or address_gaiji or former_gaiji),
        ended,  # deleted_flag
        meta.update_seq,
        0,
        0,
        former,
        former_gaiji,
        str(items.get("former_surname_kana") or ""),
        0,
        meta.status,
        meta.end_kind,
        change_date if ended else None,
        _retain(change_date, meta, cache) if ended else None,
        meta.old_juminhyo_code,
        meta.successor_code,
        meta.version,
        names.family,
        names.given,
        cache.address(address) if cache else address_key(address),
        birth.sort_key,
    ]


def fuhyo_values(items: Mapping[str, object], meta: Meta, cache: KeyCache | None = None) -> list[Any]:
    """A full File 2 row, positionally in FUHYO_COLUMNS order."""
    birth = _birth(items, cache)
    name_kana = str(items["name_kana"])
    names = cache.name(name_kana) if cache else name_keys(name_kana)
    name_kanji = str(items["name_kanji"])
    address = str(items["address"])
    last_address = str(items.get("last_address") or "")
    name_gaiji = _gaiji(name_kanji, cache)
    address_gaiji = _gaiji(address, cache)
    last_gaiji = _gaiji(last_address, cache)
    any_gaiji = bool(name_gaiji or address_gaiji or last_gaiji)
    return [
        meta.juminhyo_code,
        name_kanji,
        name_gaiji,
        name_kana,
        birth.canonical(),
        str(items["sex"]),
        str(items.get("address_municipality_code") or ""),
        address,
        address_gaiji,
        last_address,
        last_gaiji,
        meta.change_date,
        meta.old_juminhyo_code or "",
        meta.municipality_code,  # 附票管理市町村コード
        meta.status,
        any_gaiji,
        gaiji_pattern(name_kanji, address, last_address) if any_gaiji else "",
        NOTIFICATION_KIND[meta.change_reason],
        meta.change_reason,
        meta.notified_on,
        meta.end_kind,
        meta.successor_code,
        meta.update_seq,
        meta.version,
        meta.updated_at,
        names.seion,
        names.family,
        names.given,
        cache.address(address) if cache else address_key(address),
        birth.sort_key,
    ]


#: 通知区分 (D2-18) of each reason for File 2: its class 記載 / 消除 / 修正.
NOTIFICATION_KIND: dict[str, str] = {
    reason.value: rule_for(reason, FileKind.FUHYO).klass.value
    for reason in ChangeReason
    if applies_to(reason, FileKind.FUHYO)
}


def build_pref_row(items: Mapping[str, object], meta: Meta, cache: KeyCache | None = None) -> Row:
    """A full File 1 row (column → value) from the notified items and the server's metadata."""
    return dict(zip(PREF_COLUMNS, pref_values(items, meta, cache), strict=True))


def build_fuhyo_row(items: Mapping[str, object], meta: Meta, cache: KeyCache | None = None) -> Row:
    """A full File 2 row (column → value) from the notified items and the server's metadata."""
    return dict(zip(FUHYO_COLUMNS, fuhyo_values(items, meta, cache), strict=True))


def _retain(change_date: str, meta: Meta, cache: KeyCache | None) -> date:
    ended = cache.date(change_date) if cache else JukiDate.parse_canonical(change_date)
    return retain_until(ended, meta.notified_on)


def pref_state(row: Mapping[str, Any]) -> PersonState:
    """What the checks need to know of a stored File 1 row."""
    record: dict[str, object] = {k: row[k] or "" for k in PREF_NOTIFIED_ITEMS}
    record["birth_date"] = JukiDate.parse_canonical(row["birth_date"])
    end_kind = EndKind(row["end_kind"]) if row["end_kind"] else None
    return PersonState(
        status=row["status"], end_kind=end_kind, municipality_code=row["municipality_code"], record=record
    )


def fuhyo_state(row: Mapping[str, Any]) -> PersonState:
    """What the checks need to know of a stored File 2 row."""
    record: dict[str, object] = {k: row[k] or "" for k in FUHYO_NOTIFIED_ITEMS}
    record["birth_date"] = JukiDate.parse_canonical(row["birth_date"])
    end_kind = EndKind(row["end_kind"]) if row["end_kind"] else None
    return PersonState(
        status=row["status"],
        end_kind=end_kind,
        municipality_code=row["fuhyo_municipality_code"],
        record=record,
    )


def pref_notice(row: Mapping[str, Any]) -> dict[str, Any]:
    """The notice to the 全国サーバ: the D1-PS items (L818) plus what J-LIS needs to apply it."""
    return {
        "file": files.PREF.value,
        "juminhyo_code": row["juminhyo_code"],
        "name_kanji": row["name_kanji"],
        "name_kana": row["name_kana"],
        "birth_date": row["birth_date"],
        "sex": row["sex"],
        "address": row["address"],
        "my_number": row["my_number"],
        "change_reason": row["change_reason"],
        "change_date": row["change_date"],
        "municipality_code": row["municipality_code"],
        "status": row["status"],
        "end_kind": row["end_kind"],
        "old_juminhyo_code": row["old_juminhyo_code"],
        "update_seq": row["update_seq"],
    }


def fuhyo_notice(row: Mapping[str, Any]) -> dict[str, Any]:
    """The notice to the 附票全国サーバ. A-09: the item set is not listed; we send D2-PS (no 個人番号,
    ever) plus the 附票 items J-LIS needs to keep its copy (status, 最終住所, 附票管理市町村, 旧コード)."""
    return {
        "file": files.FUHYO.value,
        "juminhyo_code": row["juminhyo_code"],
        "name_kanji": row["name_kanji"],
        "name_kana": row["name_kana"],
        "birth_date": row["birth_date"],
        "sex": row["sex"],
        "address_municipality_code": row["address_municipality_code"],
        "address": row["address"],
        "last_address": row["last_address"],
        "change_date": row["change_date"],
        "old_juminhyo_code": row["old_juminhyo_code"],
        "fuhyo_municipality_code": row["fuhyo_municipality_code"],
        "status": row["status"],
        "notification_kind": row["notification_kind"],
        "update_seq": row["update_seq"],
    }


def _pref_code_changed(old: Row, reason: ChangeReason, change_date: str) -> None:
    """File 1: the old code's record ends as 消除 and is retained (R-02)."""
    old.update(retention_flag=True, deleted_flag=True, ended_on=change_date)


def _fuhyo_code_changed(old: Row, reason: ChangeReason, change_date: str) -> None:
    """File 2: the old code's record carries the 通知区分 of the reason that ended it."""
    old["notification_kind"] = rule_for(reason, FileKind.FUHYO).klass.value


def _pref_loaded_end_kind(status: str, reason: str, given: str) -> str | None:
    """File 1's CSV states the end kind."""
    return given or None


def _fuhyo_loaded_end_kind(status: str, reason: str, given: str) -> str | None:
    """File 2 has no end-kind item: the last reason tells."""
    if status != FuhyoStatus.ENDED:
        return None
    return EndKind.DEATH.value if reason == ChangeReason.DEATH else EndKind.REMOVED.value


@dataclass(frozen=True)
class RowSpec:
    """How one file's rows are built and read; the plain configuration is ``file`` (juki.files)."""

    file: FileSpec
    columns: tuple[str, ...]  # the current table's columns, in table order
    statuses: frozenset[str]  # every record state the file knows (present ones and ended)
    build_row: Callable[[Mapping[str, object], Meta, KeyCache | None], Row]
    build_values: Callable[[Mapping[str, object], Meta, KeyCache | None], list[Any]]
    state_of: Callable[[Mapping[str, Any]], PersonState]
    notice: Callable[[Mapping[str, Any]], dict[str, Any]]
    #: Marks the old code's row ended by a 住民票コード change (reason, change date).
    code_changed: Callable[[Row, ChangeReason, str], None]
    #: The end kind of a loaded row: (status, reason, the CSV's end_kind text or "").
    loaded_end_kind: Callable[[str, str, str], str | None]
    #: R-02: rows carry their own retention (retention_flag, ended_on, retain_until): a superseded
    #: version is kept 150 years, an ended record until its retain_until.
    retention: bool
    #: Columns a new version keeps from the version it supersedes (not derived from the items).
    carried_columns: tuple[str, ...]

    @property
    def kind(self) -> FileKind:
        return self.file.kind

    @property
    def destination(self) -> str:
        """The outbox destination of the file's notices: its national server."""
        return self.file.national_peer.value


PREF_ROWS = RowSpec(
    file=files.PREF,
    columns=PREF_COLUMNS,
    statuses=frozenset(s.value for s in RecordStatus),
    build_row=build_pref_row,
    build_values=pref_values,
    state_of=pref_state,
    notice=pref_notice,
    code_changed=_pref_code_changed,
    loaded_end_kind=_pref_loaded_end_kind,
    retention=True,
    carried_columns=("name_gaiji_seq", "address_gaiji_seq", "former_surname_gaiji_seq"),
)

FUHYO_ROWS = RowSpec(
    file=files.FUHYO,
    columns=FUHYO_COLUMNS,
    statuses=frozenset(s.value for s in FuhyoStatus),
    build_row=build_fuhyo_row,
    build_values=fuhyo_values,
    state_of=fuhyo_state,
    notice=fuhyo_notice,
    code_changed=_fuhyo_code_changed,
    loaded_end_kind=_fuhyo_loaded_end_kind,
    retention=False,
    carried_columns=(),
)

_ROWS: dict[FileKind, RowSpec] = {rows.kind: rows for rows in (PREF_ROWS, FUHYO_ROWS)}


def row_spec(kind: FileKind | str) -> RowSpec:
    """The row building of ``kind``; its plain configuration is ``row_spec(kind).file``."""
    return _ROWS[FileKind(kind)]


def all_row_specs() -> tuple[RowSpec, ...]:
    """Both files' row specs, in the order of `juki.files.all_files()`."""
    return tuple(_ROWS[spec.kind] for spec in files.all_files())
