"""A record as a clerk reads it (issue 10 item 3): items grouped and labelled from the domain
(``juki.domain.items``), one date style — 和暦 with the 西暦 in parentheses, timestamps in Japan
time — the 消除者 banner, history rows dated by when each version took effect, municipality codes
with their names, and the 個人番号 masked unless the operator asked (and that was logged).

Built from the service's :class:`~juki.services.search.service.RecordView`; the templates only lay
it out, so the record page and the printed 照会結果票 show exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from juki.domain.dates import JukiDate, format_wareki
from juki.domain.items import RECORD_GROUPS, item_label_for
from juki.domain.lgcodes import for_prefecture
from juki.interfaces.terminal.labels import JST, item_value
from juki.services.search.service import RecordVersion, RecordView

__all__ = ["MASK", "RecordPage", "Row", "build", "wareki_date", "wareki_time"]

#: What stands for a 個人番号 not asked for: as many marks as digits, nothing of the number.
MASK: Final = "●●●●●●●●●●●●"
_MUNICIPALITY_COLUMNS: Final = frozenset(
    {"municipality_code", "address_municipality_code", "fuhyo_municipality_code"}
)


def wareki_date(value: date) -> str:
    """令和8年12月5日（2026-12-05）."""
    return f"{format_wareki(JukiDate.from_date(value))}（{value.isoformat()}）"


def wareki_time(value: datetime) -> str:
    """A timestamp in Japan time: 令和8年12月5日 9時05分07秒（2026-12-05 09:05:07）."""
    local = value.astimezone(JST)
    day = format_wareki(JukiDate.from_date(local.date()))
    return f"{day} {local.hour}時{local.minute:02d}分{local.second:02d}秒（{local:%Y-%m-%d %H:%M:%S}）"


def _municipality(code: str) -> str:
    """The code with its name. Codes are unique nationwide, so the table of the code's own
    prefecture names it: a File 2 address in another prefecture is named too, whatever prefecture
    this server serves."""
    try:
        return f"{code}（{for_prefecture(code[:2]).name_of(code)}）"
    except (KeyError, ValueError):
        return code


def value_text(column: str, value: Any, *, reveal: bool = False) -> str:
    """One item's value as the page shows it."""
    if value is None or value == "":
        return ""
    if column == "my_number" and not reveal:
        return MASK
    if column in _MUNICIPALITY_COLUMNS:
        return _municipality(str(value))
    if isinstance(value, datetime):
        return wareki_time(value)
    if isinstance(value, date):
        return wareki_date(value)
    return item_value(column, value)


@dataclass(frozen=True)
class Row:
    column: str
    label: str
    value: str


@dataclass(frozen=True)
class Group:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class HistoryRow:
    version: int
    current: bool
    took_effect: str  # 異動年月日 of the change that made this version
    recorded: str  # when the server recorded it (the version's own timestamp)
    reason: str
    name: str
    address: str
    status: str


@dataclass(frozen=True)
class RecordPage:
    file: str
    juminhyo_code: str
    version: int
    groups: tuple[Group, ...]
    details: tuple[Row, ...]  # items outside the groups: shown under 「詳細項目」
    ended: bool
    banner: str  # the 消除者 banner text (empty for a living record)
    history: tuple[HistoryRow, ...]
    has_my_number: bool
    my_number_shown: bool


def _rows(items: Mapping[str, Any], columns: tuple[str, ...], reveal: bool) -> tuple[Row, ...]:
    """The rows of ``columns`` the record has a value for (an empty 旧氏 or 旧住民票コード says nothing)."""
    rows = (
        Row(c, item_label_for(c, items[c]), value_text(c, items[c], reveal=reveal))
        for c in columns
        if c in items
    )
    return tuple(row for row in rows if row.value)


def _history_row(version: RecordVersion) -> HistoryRow:
    items = version.items
    return HistoryRow(
        version=version.version,
        current=version.is_current,
        took_effect=value_text("change_date", items.get("change_date")),
        recorded=value_text("updated_at", items.get("updated_at")),
        reason=value_text("change_reason", items.get("change_reason")),
        name=str(items.get("name_kanji", "")),
        address=str(items.get("address", "")),
        status=value_text("status", items.get("status")),
    )


def build(record: RecordView, *, reveal: bool = False) -> RecordPage:
    """The page model of ``record``; ``reveal`` shows the 個人番号 (only after its logged 表示)."""
    items = record.current.items
    grouped = {c for g in RECORD_GROUPS for c in g.columns}
    groups = tuple(Group(g.title, rows) for g in RECORD_GROUPS if (rows := _rows(items, g.columns, reveal)))
    details = _rows(items, tuple(c for c in items if c not in grouped), reveal)
    ended = items.get("status") == "ended"
    banner = ""
    if ended:
        kind = value_text("end_kind", items.get("end_kind")) or "消除"
        reason = value_text("change_reason", items.get("change_reason"))
        on = value_text("ended_on", items.get("ended_on")) or value_text(
            "change_date", items.get("change_date")
        )
        why = kind if reason in ("", kind) else f"{kind}（{reason}）"
        banner = f"消除事由: {why}／消除日: {on}"
    return RecordPage(
        file=record.file.value,
        juminhyo_code=record.juminhyo_code,
        version=record.current.version,
        groups=groups,
        details=details,
        ended=ended,
        banner=banner,
        history=tuple(_history_row(v) for v in record.versions),
        has_my_number=bool(items.get("my_number")),
        my_number_shown=reveal,
    )
