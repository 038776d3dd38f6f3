"""Kanagawa's 全国地方公共団体コード table (DOMAIN §3), read once from the packaged CSV.

The table is data, not code: a merger or a new ward is a change to ``juki/data/kanagawa_lgcodes.csv``.
Two facts of the table drive most rules here:

* In a designated city (指定都市) the *ward* (行政区) keeps the resident register, so a resident's
  市町村コード is the ward's code (141011 鶴見区), never the city's (141003 横浜市).
* 郡 rows are statistical area codes, not local governments: they never appear as a 市町村コード.

Ward names repeat across cities (緑区 is in 横浜市 and 相模原市), so nothing is ever keyed on a name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from juki.domain.codes import is_valid_lg_code

__all__ = [
    "KIND_CITY",
    "KIND_COUNTY",
    "KIND_DESIGNATED_CITY",
    "KIND_PREFECTURE",
    "KIND_TOWN",
    "KIND_VILLAGE",
    "KIND_WARD",
    "LgTable",
    "LocalGovernment",
    "kanagawa",
    "load_table",
]

KIND_PREFECTURE: Final = "都道府県"
KIND_DESIGNATED_CITY: Final = "指定都市"
KIND_WARD: Final = "行政区"
KIND_CITY: Final = "市"
KIND_TOWN: Final = "町"
KIND_VILLAGE: Final = "村"
KIND_COUNTY: Final = "郡"

_KINDS: Final = frozenset(
    {KIND_PREFECTURE, KIND_DESIGNATED_CITY, KIND_WARD, KIND_CITY, KIND_TOWN, KIND_VILLAGE, KIND_COUNTY}
)
_MUNICIPAL_KINDS: Final = frozenset({KIND_CITY, KIND_TOWN, KIND_VILLAGE})


@dataclass(frozen=True)
class LocalGovernment:
    """One row of the table.

    ``kind`` is one of the ``KIND_*`` constants. The CSV annotates 郡 rows with an explanation in
    parentheses ("郡(統計用標準地域コード; …)"); only the leading word is kept so comparisons are exact.
    """

    code: str  # 6 digits with check digit
    code5: str
    name: str
    parent_code5: str | None
    kind: str

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
        """Whether this code can appear as a 住基 市町村コード."""
        return self.kind == KIND_WARD or self.kind in _MUNICIPAL_KINDS


class LgTable:
    """Lookup over a set of local governments, keyed by 6-digit code (and internally by 5-digit code)."""

    def __init__(self, rows: tuple[LocalGovernment, ...]) -> None:
        self._by_code6: dict[str, LocalGovernment] = {r.code: r for r in rows}
        self._by_code5: dict[str, LocalGovernment] = {r.code5: r for r in rows}
        if len(self._by_code6) != len(rows) or len(self._by_code5) != len(rows):
            raise ValueError("地方公共団体コード表にコードの重複があります")
        prefectures = [r for r in rows if r.kind == KIND_PREFECTURE]
        if len(prefectures) != 1:
            raise ValueError("地方公共団体コード表には都道府県の行がちょうど1行必要です")
        self._prefecture = prefectures[0]
        self._rows = rows
        self._rr_codes = tuple(r.code for r in rows if r.is_resident_register_municipality)
        self._rr_set = frozenset(self._rr_codes)

    def __iter__(self) -> Iterator[LocalGovernment]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, code6: object) -> bool:
        return code6 in self._by_code6

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
        """Codes that may appear as a 住基 市町村コード, in table order.

        市・町・村 that are not designated cities, plus the wards of designated cities; never the
        prefecture, a 郡 or a designated city itself.
        """
        return self._rr_codes

    def is_resident_register_municipality(self, code6: str) -> bool:
        """Whether ``code6`` may appear as a 住基 市町村コード."""
        return code6 in self._rr_set

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

    def name_of(self, code6: str) -> str:
        """Display name as used in an address: a ward is prefixed by its city (横浜市鶴見区).

        Towns and villages are *not* prefixed by their 郡: whether an address writes 足柄下郡 is the
        municipality's choice, and address search treats the 郡 as optional.
        """
        row = self._by_code6.get(code6)
        if row is None:
            raise KeyError(code6)
        city = self.city_of(code6)
        return city.name + row.name if city is not None else row.name


def _kind_of(raw: str) -> str:
    kind = raw.split("(", 1)[0].strip()
    if kind not in _KINDS:
        raise ValueError(f"地方公共団体コード表に未知の種別があります: {raw}")
    return kind


def load_table(text: str) -> LgTable:
    """Parse the CSV text (header lg_code6,lg_code5,name,parent_code5,kind) and validate every row."""
    rows: list[LocalGovernment] = []
    for rec in csv.DictReader(io.StringIO(text)):
        code6 = rec["lg_code6"].strip()
        code5 = rec["lg_code5"].strip()
        if not is_valid_lg_code(code6) or code6[:5] != code5:
            raise ValueError(f"地方公共団体コード表のコードが不正です: {code6}")
        parent = rec["parent_code5"].strip() or None
        rows.append(
            LocalGovernment(
                code=code6,
                code5=code5,
                name=rec["name"].strip(),
                parent_code5=parent,
                kind=_kind_of(rec["kind"]),
            )
        )
    return LgTable(tuple(rows))


@cache
def kanagawa() -> LgTable:
    """The packaged Kanagawa table, parsed once per process."""
    text = resources.files("juki").joinpath("data/kanagawa_lgcodes.csv").read_text(encoding="utf-8")
    return load_table(text)
