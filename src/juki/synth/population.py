"""Deterministic synthetic persons with random access: ``make_person(seed, index)``.

A person depends only on (seed, index) — never on other indices — so a population of any size can be
streamed and any one person regenerated in O(1) (the change generator relies on it).

Each person's life in the register is generated forward as a chain of events, and every event
produces a full snapshot: the origin (出生, 国内転入 or 国外転入等), then for about a quarter of the
persons 転居, moves between municipalities of Kanagawa (a 転出 snapshot that ends the record and a
転入 snapshot that begins it again in the new municipality), a change of name at marriage (職権修正),
a rewriting of the address (軽微な修正), a 旧氏の記載, and for ~8% an end (国内転出, 国外転出, 死亡).
The last snapshot is the current row; the earlier ones are history, version 1 the oldest.
File 2 (附票) follows the same chain for the events that touch its items; it exists for ~85% of the
Japanese persons (本籍 in Kanagawa) and never for foreign residents.

All dates are on or before :data:`POPULATION_AS_OF` − 1 day; change streams start after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from juki.domain.lgcodes import DEFAULT_PREFECTURE
from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    PREF_CSV_COLUMNS,
    PREF_HISTORY_CSV_COLUMNS,
    EndKind,
    FileKind,
    FuhyoStatus,
    RecordStatus,
)
from juki.synth.draw import Draw, Weighted
from juki.synth.ids import code_maker
from juki.synth.names import (
    FAMILY,
    FOREIGN,
    IVS_FAMILY,
    SEP,
    family_other_than,
    given_pool,
    with_pua,
)
from juki.synth.places import (
    COUNTRIES,
    PLACES_AS_OF,
    Loc,
    Place,
    aza_code,
    draw_loc,
    draw_place,
    draw_style,
    other_ward,
    out_of_pref_place,
    render,
)

__all__ = ["POPULATION_AS_OF", "SynthPerson", "iso", "iter_population", "make_person"]

#: The population describes the register as of this date (all its dates are earlier).
POPULATION_AS_OF: Final = PLACES_AS_OF
_LAST: Final = POPULATION_AS_OF.toordinal() - 1
_KYUSHI_START: Final = date(2019, 11, 5).toordinal()  # 旧氏 may be recorded from 令和元年11月5日
_BAND_DAYS: Final = 1826  # five years
_MAX_HISTORY: Final = 3  # history versions per person

# Japan's population by 5-year age band (0–4 … 100+), in ten-thousands: (male, female), ca. 2024.
_PYRAMID: Final[tuple[tuple[int, int], ...]] = (
    (221, 211), (249, 237), (274, 261), (284, 270), (310, 295), (325, 309), (323, 309), (361, 347),
    (404, 392), (479, 466), (466, 458), (400, 399), (370, 377), (385, 404), (447, 496), (338, 404),
    (241, 322), (135, 231), (45, 121), (8, 36), (1, 8),
)  # fmt: skip
_AGE: Final[Weighted[tuple[str, int]]] = Weighted(
    [(("1", band), m) for band, (m, _) in enumerate(_PYRAMID)]
    + [(("2", band), f) for band, (_, f) in enumerate(_PYRAMID)]
)

_PRESENT: Final = RecordStatus.PRESENT.value
_ENDED: Final = RecordStatus.ENDED.value
_REMOVED: Final = EndKind.REMOVED.value
_DEATH: Final = EndKind.DEATH.value
_F_DOMESTIC: Final = FuhyoStatus.DOMESTIC.value
_F_ABROAD: Final = FuhyoStatus.ABROAD.value
_F_ENDED: Final = FuhyoStatus.ENDED.value

# The snapshot tuples below are written positionally: check once that the column order is the one
# they assume, so that a change in records.py fails loudly instead of shifting values.
_PREF_ORDER: Final = (
    "juminhyo_code", "name_kanji", "name_kana", "birth_date", "sex", "address", "municipality_code",
    "aza_code", "my_number", "former_surname_kanji", "former_surname_kana", "change_reason", "change_date",
    "status", "end_kind", "ended_on", "notified_on",
)  # fmt: skip
_FUHYO_ORDER: Final = (
    "juminhyo_code", "name_kanji", "name_kana", "birth_date", "sex", "address_municipality_code", "address",
    "last_address", "fuhyo_municipality_code", "old_juminhyo_code", "change_reason", "change_date", "status",
    "notified_on",
)  # fmt: skip
if PREF_CSV_COLUMNS != _PREF_ORDER or FUHYO_CSV_COLUMNS != _FUHYO_ORDER:  # pragma: no cover
    raise RuntimeError("records.py の列順が synth の想定と異なります")
assert PREF_HISTORY_CSV_COLUMNS[-1] == "version"


@dataclass(slots=True)
class SynthPerson:
    """One synthetic person: File 1 rows (current + history) and File 2 rows (or None).

    Rows are tuples of strings in the CSV column order of ``juki.domain.records`` ("" when empty);
    history rows end with their ``version`` (1 = oldest).
    """

    pref_current: tuple[str, ...]
    pref_history: list[tuple[str, ...]]
    fuhyo_current: tuple[str, ...] | None
    fuhyo_history: list[tuple[str, ...]]

    def current(self, file: FileKind) -> tuple[str, ...] | None:
        """The person's current row in ``file`` (None: no File 2 record)."""
        return self.pref_current if file is FileKind.PREF else self.fuhyo_current


_ISO_BASE: Final = date(1900, 1, 1).toordinal()
#: ISO text of every day from 1900 to 2040: a list lookup is ~8x faster than ``date.isoformat``.
_ISO: Final[list[str]] = [
    date.fromordinal(o).isoformat() for o in range(_ISO_BASE, date(2041, 1, 1).toordinal())
]
_GEN1: Final = date(1960, 1, 1).toordinal()  # given-name generations (see names.given_pool)
_GEN2: Final = date(1995, 1, 1).toordinal()

_V_BIRTH: Final = R.BIRTH.value
_V_MOVE_IN: Final = R.DOMESTIC_MOVE_IN.value
_V_OVERSEAS_IN: Final = R.OVERSEAS_MOVE_IN.value
_V_MOVE_OUT: Final = R.DOMESTIC_MOVE_OUT.value
_V_OVERSEAS_OUT: Final = R.OVERSEAS_MOVE_OUT.value
_V_DEATH: Final = R.DEATH.value
_V_RELOCATION: Final = R.RELOCATION.value
_V_EX_OFFICIO: Final = R.EX_OFFICIO_CORRECTION.value
_V_MINOR: Final = R.MINOR_CORRECTION.value
_V_KYUSHI: Final = R.FORMER_SURNAME_ENTRY.value
_V_TRANSFER: Final = R.EX_OFFICIO_REMOVAL.value


def iso(ordinal: int) -> str:
    """ISO text of a day ordinal (1900–2040)."""
    return _ISO[ordinal - _ISO_BASE]


def _birth_text(d: Draw, birth: date) -> str:
    """A partial, 不詳 or non-calendar 生年月日 near ``birth`` (the rare path of make_person)."""
    r = d.below(1000)
    y, m = birth.year, birth.month
    if r < 30:  # a non-calendar date as written in a 戸籍
        return f"{y - 1 if y % 4 == 0 else y:04d}-02-29" if r < 20 else f"{y:04d}-02-30"
    if r < 300:
        return f"{y:04d}"
    if r < 500:
        return f"{y:04d}-{m:02d}"
    if r < 800:
        return f"{y:04d}-{m:02d} {('上旬', '中旬', '下旬')[r % 3]}"
    if r < 900:
        return f"{birth.isoformat()} 頃"
    return "不詳"


class _Builder:
    """The mutable state of one person while its chain of events is generated.

    The texts of the name and the address are kept ready so that each snapshot is one tuple build.
    """

    __slots__ = (
        "addr",
        "aza",
        "birth",
        "code",
        "d",
        "family",
        "foreign",
        "former",
        "fuhyo",
        "fuhyo_code",
        "fuhyo_rows",
        "given",
        "loc",
        "my_number",
        "name_kana",
        "name_kanji",
        "place",
        "prefecture",
        "rows",
        "sex",
        "style",
    )

    def __init__(self, d: Draw, code: str, my_number: str, sex: str, birth: str) -> None:
        self.d = d
        self.code = code
        self.my_number = my_number
        self.sex = sex
        self.birth = birth
        self.foreign = False
        self.family: tuple[str, str] = ("", "")
        self.given: tuple[str, str] = ("", "")
        self.name_kanji = ""
        self.name_kana = ""
        self.former: tuple[str, str] = ("", "")
        self.place: Place
        self.loc: Loc
        self.style = 0
        self.addr = ""
        self.aza = ""
        self.rows: list[tuple[str, ...]] = []
        self.fuhyo = False
        self.fuhyo_code = ""
        self.fuhyo_rows: list[tuple[str, ...]] = []
        self.prefecture = DEFAULT_PREFECTURE

    def set_name(self, family: tuple[str, str], given: tuple[str, str]) -> None:
        self.family, self.given = family, given
        self.name_kanji = family[0] + SEP + given[0]
        self.name_kana = family[1] + SEP + given[1]

    def set_address(self, place: Place, loc: Loc, style: int) -> None:
        self.place, self.loc, self.style = place, loc, style
        self.addr = render(place, loc, style)
        self.aza = aza_code(place, loc)

    def pref(self, reason: str, ordinal: int, status: str = _PRESENT, end_kind: str = "") -> None:
        when = _ISO[ordinal - _ISO_BASE]
        notified = _ISO[min(ordinal + self.d.below(8), _LAST) - _ISO_BASE]
        self.rows.append(
            (
                self.code,
                self.name_kanji,
                self.name_kana,
                self.birth,
                self.sex,
                self.addr,
                self.place.code,
                self.aza,
                self.my_number,
                self.former[0],
                self.former[1],
                reason,
                when,
                status,
                end_kind,
                when if end_kind else "",
                notified,
            )
        )

    def fuhyo_row(
        self,
        reason: str,
        ordinal: int,
        status: str = _F_DOMESTIC,
        address: tuple[str, str, str] | None = None,
    ) -> None:
        """Append a File 2 snapshot; ``address`` = (municipality code, address, last address)."""
        if not self.fuhyo:
            return
        if address is None:
            address = (self.place.code, self.addr, "")
        self.fuhyo_rows.append(
            (
                self.code,
                self.name_kanji,
                self.name_kana,
                self.birth,
                self.sex,
                *address,
                self.fuhyo_code,
                "",
                reason,
                _ISO[ordinal - _ISO_BASE],
                status,
                _ISO[min(ordinal + self.d.below(8), _LAST) - _ISO_BASE],
            )
        )


def _versioned(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """All but the last row, each with its version number appended (1 = oldest)."""
    return [(*row, str(v)) for v, row in enumerate(rows[:-1], 1)]


def make_person(seed: int, index: int, prefecture: str = DEFAULT_PREFECTURE) -> SynthPerson:
    """The person ``index`` of the population ``seed`` living in ``prefecture`` (the same arguments
    always give the same person). The prefecture chooses the places only: codes, names and dates
    come from ``seed`` and ``index``, so give each prefecture of one deployment its own seed."""
    d = Draw(f"{seed}/{index}")
    codes = code_maker(seed)
    below = d.below
    sex, band = _AGE.pick(d)
    birth_ord = _LAST - band * _BAND_DAYS - below(_BAND_DAYS)
    if band >= 6 and below(10_000) < 14:  # ~0.1%: a partial, 不詳 or non-calendar 生年月日 (age 30+)
        birth = date.fromordinal(birth_ord)
        birth_text, exact_birth = _birth_text(d, birth), False
        birth_ord = date(birth.year, 12, 31).toordinal()  # events come after every reading of it
    else:
        birth_text, exact_birth = _ISO[birth_ord - _ISO_BASE], True
    r = below(1_000_000)
    foreign = r < 25_000
    b = _Builder(d, codes.juminhyo_code(index), codes.my_number(index), sex, birth_text)
    b.prefecture = prefecture
    b.foreign = foreign
    if foreign:
        pool = FOREIGN.pick(d)
        b.set_name(d.pick(pool.families), d.pick(pool.given[sex]))
    else:
        family = FAMILY.pick(d)
        given = given_pool(sex, 0 if birth_ord < _GEN1 else 1 if birth_ord < _GEN2 else 2).pick(d)
        if r < 25_000 + 3_000:  # ~0.3% of names hold a 外字
            family = (with_pua(family[0], d), family[1])
        elif r < 25_000 + 8_000:  # ~0.5% a Moji_Joho IVS
            family = d.pick(IVS_FAMILY)
        b.set_name(family, given)
        b.fuhyo = r % 100 < 85

    # Origin of the record.
    place = draw_place(d, prefecture)
    b.set_address(place, draw_loc(d, place), draw_style(d, place))
    r = below(100_000)
    if foreign:
        origin = _V_OVERSEAS_IN
    elif exact_birth and r < 35_000:
        origin = _V_BIRTH
    else:
        origin = _V_MOVE_IN if r % 100 < 88 else _V_OVERSEAS_IN
    if origin == _V_BIRTH:
        start = birth_ord
    else:
        u = below(1000)
        start = _LAST - max(0, _LAST - birth_ord - 1) * u * u // 1_000_000
    if b.fuhyo:
        b.fuhyo_code = place.code if r // 100 % 100 < 55 else draw_place(d, prefecture).code

    # What happens afterwards.
    r = below(1_000_000)
    n_events = 0 if r >= 180_000 else 1 + (r % 10 >= 6) + (r % 10 >= 9)
    ending: str | None = None
    if below(1000) < 80:
        age = (_LAST - birth_ord) // 365
        p_death = 75 if age >= 65 else 15 if age >= 40 else 3
        r = below(100)
        ending = _V_DEATH if r < p_death else _V_OVERSEAS_OUT if r % 7 == 0 else _V_MOVE_OUT
    kyushi = sex == "2" and band >= 6 and not foreign and below(1000) < 30
    n_events = max(0, min(n_events, _MAX_HISTORY - (ending is not None) - kyushi))
    n_total = n_events + (ending is not None) + kyushi
    if n_total and _LAST - start < 60 * n_total and origin != _V_BIRTH:
        start = min(_LAST, max(birth_ord + 1, _LAST - 3650))
    if n_total and _LAST - start < 60 * n_total:
        n_events, kyushi = 0, False
        n_total = ending is not None
        if _LAST - start < 2:
            ending, n_total = None, 0

    b.pref(origin, start)
    if b.fuhyo:
        b.fuhyo_row(origin, start)
    if n_total:
        _history(b, start, n_events, kyushi, ending, birth_ord)
    elif b.fuhyo and below(100) < 2:
        _fuhyo_transfer(b, start)

    rows = b.rows
    frows = b.fuhyo_rows
    return SynthPerson(
        rows[-1],
        _versioned(rows) if len(rows) > 1 else [],
        frows[-1] if frows else None,
        _versioned(frows) if len(frows) > 1 else [],
    )


def _event_dates(d: Draw, start: int, n: int) -> list[int]:
    """``n`` sorted dates in (start, _LAST]."""
    span = _LAST - start
    return sorted(start + 1 + d.below(span) for _ in range(n))


def _history(
    b: _Builder, start: int, n_events: int, kyushi: bool, ending: str | None, birth_ord: int
) -> None:
    """Generate the events after the origin (see the module docstring)."""
    d = b.d
    dates = _event_dates(d, start, n_events + kyushi + (ending is not None))
    end_date = dates.pop() if ending is not None else None
    kyushi_date: int | None = None
    if kyushi:
        kyushi_date = dates.pop()
        if kyushi_date < _KYUSHI_START:
            lo = max(_KYUSHI_START, dates[-1] if dates else start) + 1
            hi = end_date - 1 if end_date is not None else _LAST
            kyushi_date = lo + d.below(hi - lo + 1) if hi >= lo else None
    married = False
    for i, when in enumerate(dates):
        r = d.below(100)
        age = (when - birth_ord) // 365
        rows_after = len(dates) - i - 1 + (kyushi_date is not None) + (end_date is not None)
        if 55 <= r < 77 and len(b.rows) + 2 + rows_after <= _MAX_HISTORY + 1:
            # to another municipality of Kanagawa: 転出 then 転入 (two versions)
            b.pref(_V_MOVE_OUT, when, _ENDED, _REMOVED)
            nxt = dates[i + 1] if i + 1 < len(dates) else (kyushi_date or end_date or _LAST)
            when = min(when + d.below(15), nxt)
            new_place = b.place
            while new_place is b.place:
                new_place = draw_place(d, b.prefecture)
            b.set_address(new_place, draw_loc(d, new_place), draw_style(d, new_place))
            b.pref(_V_MOVE_IN, when)
            b.fuhyo_row(_V_MOVE_IN, when)
        elif (
            77 <= r < 87 and b.sex == "2" and not b.foreign and not married and 20 <= age < 50 and not kyushi
        ):
            married = True
            b.set_name(family_other_than(d, b.family[0]), b.given)
            b.pref(_V_EX_OFFICIO, when)
            b.fuhyo_row(_V_EX_OFFICIO, when)
        elif r >= 90:  # the same address written another way
            b.set_address(b.place, b.loc, 2 if b.style != 2 else 0)
            b.pref(_V_MINOR, when)
            b.fuhyo_row(_V_MINOR, when)
        else:  # 転居 (in a designated city, sometimes to another ward)
            new_place, style = b.place, b.style
            if new_place.city_code != new_place.code and d.below(100) < 20:
                new_place = other_ward(d, new_place)
                style = draw_style(d, new_place)
            loc = b.loc
            while loc == b.loc:
                loc = draw_loc(d, new_place)
            b.set_address(new_place, loc, style)
            b.pref(_V_RELOCATION, when)
            b.fuhyo_row(_V_RELOCATION, when)
    if kyushi_date is not None:
        b.former = family_other_than(d, b.family[0])
        b.pref(_V_KYUSHI, kyushi_date)
    if ending is None or end_date is None:
        if b.fuhyo and d.below(100) < 2:
            _fuhyo_transfer(b, max(dates[-1] if dates else start, kyushi_date or start))
        return
    if ending == _V_DEATH:
        b.pref(_V_DEATH, end_date, _ENDED, _DEATH)
        b.fuhyo_row(_V_DEATH, end_date, _F_ENDED)
        return
    b.pref(ending, end_date, _ENDED, _REMOVED)
    if ending == _V_OVERSEAS_OUT:
        b.fuhyo_row(_V_OVERSEAS_OUT, end_date, _F_ABROAD, ("", d.pick(COUNTRIES), b.addr))
    else:
        dest = out_of_pref_place(d, b.prefecture)
        new_address = render(dest, draw_loc(d, dest), 0)
        b.fuhyo_row(_V_MOVE_OUT, min(end_date + d.below(15), _LAST), address=(dest.code, new_address, ""))


def _fuhyo_transfer(b: _Builder, after: int) -> None:
    """The 本籍 left Kanagawa (転籍): the Kanagawa 附票 record ends while the person stays."""
    if _LAST - after < 2:
        return
    when = after + 1 + b.d.below(_LAST - after)
    last = b.fuhyo_rows[-1]
    b.fuhyo_row(_V_TRANSFER, when, _F_ENDED, (last[5], last[6], last[7]))


def iter_population(persons: int, seed: int, prefecture: str = DEFAULT_PREFECTURE) -> Iterator[SynthPerson]:
    """Persons 0 .. persons-1 of ``seed`` in ``prefecture``, one at a time."""
    for index in range(persons):
        yield make_person(seed, index, prefecture)
