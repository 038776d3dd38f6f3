"""The 全国地方公共団体コード table (DOMAIN §3) of the configured prefecture, with validity dates.

The table is data, not code: ``juki/data/lgcodes_japan.csv`` lists every 都道府県, 市区町村 and 行政区
of Japan, and ``juki/data/lgcode_validity.csv`` the days a code began or ceased to exist (合併, a
ward reorganisation such as 浜松市's on 2024-01-01). A merger or a new ward is a change to those two
files. Which prefecture a server serves is configuration (``Settings.prefecture``); callers pass
:func:`for_prefecture`'s table down rather than each reading the environment.

Facts of the table that drive most rules here:

* In a designated city (指定都市) the *ward* (行政区) keeps the resident register, so a resident's
  市町村コード is the ward's code (141011 鶴見区), never the city's (141003 横浜市).
* 郡 rows and statistical areas (東京都特別区部, 北海道の振興局) are not local governments: they never
  appear as a 市町村コード. Tokyo's 特別区 are local governments and keep their own register.
* A code that was abolished stays in the table: old records refer to it. Whether a code may be used
  depends on the day (:meth:`LgTable.valid_on`), not on membership alone.

Ward names repeat across cities (緑区 is in 横浜市 and 相模原市), so nothing is ever keyed on a name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Final

from juki.domain.codes import is_valid_lg_code

__all__ = [
    "DEFAULT_PREFECTURE",
    "KIND_CITY",
    "KIND_COUNTY",
    "KIND_DESIGNATED_CITY",
    "KIND_PREFECTURE",
    "KIND_SPECIAL_WARD",
    "KIND_STATISTICAL",
    "KIND_TOWN",
    "KIND_VILLAGE",
    "KIND_WARD",
    "LgTable",
    "LocalGovernment",
    "Validity",
    "for_prefecture",
    "load_table",
    "load_validity",
    "national_rows",
]

#: The prefecture a server serves when nothing is configured (JUKI_PREFECTURE): 神奈川県.
DEFAULT_PREFECTURE: Final = "14"

KIND_PREFECTURE: Final = "都道府県"
KIND_DESIGNATED_CITY: Final = "指定都市"
KIND_WARD: Final = "行政区"
KIND_SPECIAL_WARD: Final = "特別区"
KIND_CITY: Final = "市"
KIND_TOWN: Final = "町"
KIND_VILLAGE: Final = "村"
KIND_COUNTY: Final = "郡"
KIND_STATISTICAL: Final = "統計区域"

_KINDS: Final = frozenset(
    {
        KIND_PREFECTURE,
        KIND_DESIGNATED_CITY,
        KIND_WARD,
        KIND_SPECIAL_WARD,
        KIND_CITY,
        KIND_TOWN,
        KIND_VILLAGE,
        KIND_COUNTY,
        KIND_STATISTICAL,
    }
)
_MUNICIPAL_KINDS: Final = frozenset({KIND_WARD, KIND_SPECIAL_WARD, KIND_CITY, KIND_TOWN, KIND_VILLAGE})
#: The annotation the national list gives the six 北方領土 villages: codes, but no residents.
_UNINHABITED_MARK: Final = "住民なし"


@dataclass(frozen=True)
class Validity:
    """The days a code exists: from ``valid_from`` to ``valid_to`` inclusive (None = open)."""

    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, first: date, last: date | None = None) -> bool:
        """Whether some day of ``first``..``last`` (one day when ``last`` is None) lies in the period."""
        last = first if last is None else last
        return (self.valid_from is None or last >= self.valid_from) and (
            self.valid_to is None or first <= self.valid_to
        )


_ALWAYS: Final = Validity()


@dataclass(frozen=True)
class LocalGovernment:
    """One row of the table.

    ``kind`` is one of the ``KIND_*`` constants. The CSV annotates some kinds in parentheses
    ("郡（統計区域; 地方公共団体ではない）", "村（北方領土; 住民なし）"); only the leading word is kept so
    comparisons are exact, and ``uninhabited`` keeps the one annotation that matters.
    """

    code: str  # 6 digits with check digit
    code5: str
    name: str
    parent_code5: str | None
    kind: str
    validity: Validity = _ALWAYS
    uninhabited: bool = False

    @property
    def is_ward(self) -> bool:
        """A 行政区 of a designated city (it runs the resident register)."""
        return self.kind == KIND_WARD

    @property
    def is_designated_city(self) -> bool:
        """A 指定都市 itself (its wards, not the city, are 住基 municipalities)."""
        return self.kind == KIND_DESIGNATED_CITY

    @property
    def is_county(self) -> bool:
        """A 郡 row: a statistical area, never a 市町村コード."""
        return self.kind == KIND_COUNTY

    @property
    def is_resident_register_municipality(self) -> bool:
        """Whether this code can appear as a 住基 市町村コード (on some day of its validity)."""
        return self.kind in _MUNICIPAL_KINDS and not self.uninhabited

    def valid_on(self, day: date) -> bool:
        """Whether the code existed on ``day``."""
        return self.validity.covers(day)


class LgTable:
    """Lookup over one prefecture's local governments, keyed by 6-digit code (and by 5-digit code)."""

    def __init__(self, rows: tuple[LocalGovernment, ...]) -> None:
        self._by_code6: dict[str, LocalGovernment] = {r.code: r for r in rows}
        self._by_code5: dict[str, LocalGovernment] = {r.code5: r for r in rows}
        if len(self._by_code6) != len(rows) or len(self._by_code5) != len(rows):
            raise ValueError("地方公共団体コード表にコードの重複があります")
        prefectures = [r for r in rows if r.kind == KIND_PREFECTURE]
        if len(prefectures) != 1:
            raise ValueError("地方公共団体コード表には都道府県の行がちょうど1行必要です")
        self._prefecture = prefectures[0]
        if any(r.code[:2] != self._prefecture.code[:2] for r in rows):
            raise ValueError("地方公共団体コード表に他の都道府県のコードが含まれています")
        self._rows = rows
        self._rr_codes = tuple(r.code for r in rows if r.is_resident_register_municipality)
        self._rr_set = frozenset(self._rr_codes)

    def __iter__(self) -> Iterator[LocalGovernment]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, code6: object) -> bool:
        return code6 in self._by_code6

    @property
    def prefecture_code(self) -> str:
        """The 2-digit 都道府県コード (JIS X 0401) the table is of, e.g. "14"."""
        return self._prefecture.code[:2]

    def get(self, code6: str) -> LocalGovernment | None:
        """The row for a 6-digit code, or None."""
        return self._by_code6.get(code6)

    def by_code5(self, code5: str) -> LocalGovernment | None:
        """The row for a 5-digit code (without check digit), or None."""
        return self._by_code5.get(code5)

    def prefecture(self) -> LocalGovernment:
        """The prefecture row (e.g. 140007 神奈川県)."""
        return self._prefecture

    def resident_register_codes(self) -> tuple[str, ...]:
        """Codes that may appear as a 住基 市町村コード on some day, in table order.

        市・町・村・特別区 that are not designated cities, plus the wards of designated cities, abolished
        ones included (old records keep them); never the prefecture, a 郡, a statistical area or a
        designated city itself. :meth:`resident_register_codes_on` gives those of one day.
        """
        return self._rr_codes

    def resident_register_codes_on(self, day: date) -> tuple[str, ...]:
        """The 住基 市町村コード that exist on ``day`` (what a new notification may use)."""
        return tuple(c for c in self._rr_codes if self._by_code6[c].valid_on(day))

    def is_resident_register_municipality(self, code6: str) -> bool:
        """Whether ``code6`` may appear as a 住基 市町村コード (on some day)."""
        return code6 in self._rr_set

    def valid_on(self, code6: str, day: date, last: date | None = None) -> bool:
        """Whether ``code6`` is a code of this table that existed on ``day`` (or on some day of the
        period ``day``..``last``, for a partially known date)."""
        row = self._by_code6.get(code6)
        return row is not None and row.validity.covers(day, last)

    def city_of(self, code6: str) -> LocalGovernment | None:
        """The designated city a ward belongs to; None for anything that is not a ward."""
        row = self._by_code6.get(code6)
        if row is None or not row.is_ward or row.parent_code5 is None:
            return None
        return self._by_code5.get(row.parent_code5)

    def same_designated_city(self, a: str, b: str) -> bool:
        """True when ``a`` and ``b`` are wards of one designated city (a move between them is 転居-like)."""
        city_a = self.city_of(a)
        return city_a is not None and city_a == self.city_of(b)

    def county_of(self, code6: str) -> LocalGovernment | None:
        """The 郡 a town or village lies in; None otherwise."""
        row = self._by_code6.get(code6)
        parent = self._by_code5.get(row.parent_code5) if row is not None and row.parent_code5 else None
        return parent if parent is not None and parent.is_county else None

    def name_of(self, code6: str) -> str:
        """Display name as used in an address: a ward is prefixed by its city (横浜市鶴見区).

        Towns and villages are *not* prefixed by their 郡: whether an address writes 足柄下郡 is the
        municipality's choice, and address search treats the 郡 as optional. Tokyo's 特別区 stand
        alone (千代田区): 特別区部 is a statistical area, not a city.
        """
        row = self._by_code6.get(code6)
        if row is None:
            raise KeyError(code6)
        city = self.city_of(code6)
        return city.name + row.name if city is not None else row.name


def _kind_of(raw: str) -> tuple[str, bool]:
    """The kind's leading word, and whether the annotation says the place has no residents."""
    kind = raw.replace("（", "(").split("(", 1)[0].strip()
    if kind not in _KINDS:
        raise ValueError(f"地方公共団体コード表に未知の種別があります: {raw}")
    return kind, _UNINHABITED_MARK in raw


def _date_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


def load_validity(text: str) -> dict[str, Validity]:
    """Parse the validity CSV (header lg_code6,valid_from,valid_to,change): codes not listed are
    valid on every day."""
    out: dict[str, Validity] = {}
    for rec in csv.DictReader(io.StringIO(text)):
        code6 = rec["lg_code6"].strip()
        validity = Validity(_date_or_none(rec["valid_from"]), _date_or_none(rec["valid_to"]))
        if code6 in out or not is_valid_lg_code(code6):
            raise ValueError(f"有効期間表のコードが不正または重複しています: {code6}")
        if validity.valid_from and validity.valid_to and validity.valid_from > validity.valid_to:
            raise ValueError(f"有効期間の始まりが終わりより後です: {code6}")
        out[code6] = validity
    return out


def _parse_rows(text: str, validity: Mapping[str, Validity]) -> tuple[LocalGovernment, ...]:
    rows: list[LocalGovernment] = []
    for rec in csv.DictReader(io.StringIO(text)):
        code6 = rec["lg_code6"].strip()
        code5 = rec["lg_code5"].strip()
        if not is_valid_lg_code(code6) or code6[:5] != code5:
            raise ValueError(f"地方公共団体コード表のコードが不正です: {code6}")
        kind, uninhabited = _kind_of(rec["kind"])
        rows.append(
            LocalGovernment(
                code=code6,
                code5=code5,
                name=rec["name"].strip(),
                parent_code5=rec["parent_code5"].strip() or None,
                kind=kind,
                validity=validity.get(code6, _ALWAYS),
                uninhabited=uninhabited,
            )
        )
    return tuple(rows)


def load_table(text: str, validity: Mapping[str, Validity] | None = None) -> LgTable:
    """Parse one prefecture's CSV text (header lg_code6,lg_code5,name,parent_code5,kind) and validate
    every row; ``validity`` gives the codes that did not always exist."""
    return LgTable(_parse_rows(text, validity or {}))


def _packaged(name: str) -> str:
    return resources.files("juki").joinpath(f"data/{name}").read_text(encoding="utf-8")


@cache
def national_rows() -> tuple[LocalGovernment, ...]:
    """Every row of the packaged national table, with its validity, parsed once per process."""
    validity = load_validity(_packaged("lgcode_validity.csv"))
    rows = _parse_rows(_packaged("lgcodes_japan.csv"), validity)
    unknown = set(validity) - {r.code for r in rows}
    if unknown:
        raise ValueError(f"有効期間表に地方公共団体コード表にないコードがあります: {sorted(unknown)}")
    return rows


@cache
def for_prefecture(prefecture: str) -> LgTable:
    """The table of one prefecture (2-digit 都道府県コード, "01"–"47"), built once per process."""
    if len(prefecture) != 2 or not prefecture.isascii() or not prefecture.isdigit():
        raise ValueError(f"都道府県コードは2桁の数字で指定してください: {prefecture!r}")
    rows = tuple(r for r in national_rows() if r.code.startswith(prefecture))
    if not rows:
        raise ValueError(f"都道府県コード {prefecture} は地方公共団体コード表にありません")
    return LgTable(rows)
