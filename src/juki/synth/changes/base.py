"""What every part of a change stream shares: columns, the tracked person, the stream's state.

The stream itself is `juki.synth.changes.stream`; its events are grouped by kind in the sibling
modules (moves, births and deaths, corrections, code changes, invalid items).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from juki.domain.lgcodes import DEFAULT_PREFECTURE
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    FUHYO_NOTIFIED_ITEMS,
    PREF_CSV_COLUMNS,
    PREF_NOTIFIED_ITEMS,
    FileKind,
    FuhyoStatus,
    RecordStatus,
)
from juki.synth.draw import Draw
from juki.synth.places import (
    Place,
    aza_code,
    draw_loc,
    draw_place,
    draw_style,
    place,
    render,
)
from juki.synth.population import POPULATION_AS_OF, make_person

ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
#: Default date of receipt: change dates of a stream lie between POPULATION_AS_OF and this day.
DEFAULT_RECEIVED_ON: Final = date(2026, 11, 1)
# Person indices (the 住民票コード bijection covers 0 .. 10**10 - 1): the population, then 800,000 new
# indices per stream (streams 1..9999), then from 9e9 indices no population or stream ever uses.
_STREAM_INDEX_SPAN: Final = 800_000
_UNKNOWN_INDEX_BASE: Final = 9_000_000_000
_MAX_PERSONS: Final = _UNKNOWN_INDEX_BASE - 9999 * _STREAM_INDEX_SPAN

_P: Final = {name: i for i, name in enumerate(PREF_CSV_COLUMNS)}
_F: Final = {name: i for i, name in enumerate(FUHYO_CSV_COLUMNS)}
_P_ITEMS: Final = tuple((name, _P[name]) for name in PREF_NOTIFIED_ITEMS)
_F_ITEMS: Final = tuple((name, _F[name]) for name in FUHYO_NOTIFIED_ITEMS)
_PC, _PNAME, _PKANA, _PBIRTH, _PSEX = (
    _P[k] for k in ("juminhyo_code", "name_kanji", "name_kana", "birth_date", "sex")
)
_PADDR, _PMUNI, _PAZA, _PMYNUM = (_P[k] for k in ("address", "municipality_code", "aza_code", "my_number"))
_PFORMER_K, _PFORMER_KANA = _P["former_surname_kanji"], _P["former_surname_kana"]
_PREASON, _PDATE, _PSTATUS, _PEND, _PENDED, _PNOTIFIED = (
    _P[k] for k in ("change_reason", "change_date", "status", "end_kind", "ended_on", "notified_on")
)
_FC, _FNAME, _FKANA, _FBIRTH, _FSEX = (
    _F[k] for k in ("juminhyo_code", "name_kanji", "name_kana", "birth_date", "sex")
)
_FAMUNI, _FADDR, _FLAST, _FMUNI, _FOLD = (
    _F[k] for k in ("address_municipality_code", "address", "last_address", "fuhyo_municipality_code",
                    "old_juminhyo_code")
)  # fmt: skip
_FREASON, _FDATE, _FSTATUS, _FNOTIFIED = (
    _F[k] for k in ("change_reason", "change_date", "status", "notified_on")
)

_PRESENT: Final = RecordStatus.PRESENT.value
_ENDED: Final = RecordStatus.ENDED.value
_F_DOMESTIC: Final = FuhyoStatus.DOMESTIC.value
_F_ABROAD: Final = FuhyoStatus.ABROAD.value
_F_ENDED: Final = FuhyoStatus.ENDED.value
_FULL_WIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")
_HALF_WIDTH: Final = str.maketrans("０１２３４５６７８９", "0123456789")

#: The deliberately invalid kinds a stream produces (each is also the expected answer).
INVALID_KINDS: Final[tuple[str, ...]] = (
    "E_ENTRY_PERSON_PRESENT",
    "E_RELOCATION_NON_ADDRESS",
    "E_ALREADY_ENDED",
    "E_PERSON_NOT_FOUND",
    "E_MY_NUMBER_INVALID",
    "E_LG_CODE_INVALID",
    "E_REASON_UNKNOWN",
    "E_ITEM_NOT_NOTIFIABLE",
    "E_OTHER_MUNICIPALITY",
    "E_JSON",
    "E_ENCODING",
    DUPLICATE,
)


@dataclass(frozen=True, slots=True)
class SynthChange:
    """One item of a change stream.

    ``notification`` is the JSON object (None for raw-byte items); ``raw_line`` is set instead when the
    item is a line that cannot be a notification (E_JSON, E_ENCODING). ``expect`` is "accepted",
    "duplicate" or the rejection code the server must answer.
    """

    notification: dict[str, object] | None
    raw_line: bytes | None
    expect: str

    def line(self) -> bytes:
        """The item as one JSON Lines line (UTF-8, without the newline)."""
        if self.raw_line is not None:
            return self.raw_line
        return json.dumps(self.notification, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class _Person:
    pref: list[str]
    fuhyo: list[str] | None

    @property
    def present(self) -> bool:
        return self.pref[_PSTATUS] == _PRESENT

    @property
    def fuhyo_domestic(self) -> bool:
        return self.fuhyo is not None and self.fuhyo[_FSTATUS] == _F_DOMESTIC


def new_index_base(persons: int, stream: int) -> int:
    """First person index a stream uses for persons (and numbers) it creates."""
    return persons + (stream - 1) * _STREAM_INDEX_SPAN


def _birth_ordinal(text: str) -> int | None:
    """Day ordinal of an ISO birth date, None for partial / 不詳 / non-calendar dates."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


def _pref_record(row: list[str]) -> dict[str, object]:
    return {name: row[i] for name, i in _P_ITEMS}


def _fuhyo_record(row: list[str]) -> dict[str, object]:
    return {name: row[i] for name, i in _F_ITEMS}


_Pick = Callable[[_Person], bool]
_Out = list[tuple[FileKind, dict[str, object]]]  # the notifications of one event, File 1 first


class _StreamBase:
    """The state of one stream (the touched persons) and the helpers its events share."""

    def __init__(
        self,
        persons: int,
        seed: int,
        count: int,
        stream: int,
        invalid_share: float,
        files: tuple[FileKind, ...],
        received_on: date,
        current: Sequence[tuple[Sequence[str], Sequence[str] | None]] | None = None,
        starts_on: date | None = None,
        prefecture: str = DEFAULT_PREFECTURE,
    ) -> None:
        if not 0 < persons <= _MAX_PERSONS:
            raise ValueError(f"persons must be within 1..{_MAX_PERSONS}")
        self.persons = persons
        self.seed = seed
        self.prefecture = prefecture  # where the population lives and new persons move in
        self.count = count
        self.stream = stream
        self.invalid_ppm = round(invalid_share * 1_000_000)
        self.files = frozenset(files)
        self.d = Draw(f"changes/{seed}/{persons}/{stream}")
        self.first_day = min((starts_on or POPULATION_AS_OF).toordinal(), received_on.toordinal())
        self.span = received_on.toordinal() - self.first_day
        # Drawn from a stored file: ``current`` holds the current rows of a sample of its persons (File 1
        # row, File 2 row or None, in the CSV column order); the stream draws its persons from them, by
        # their position in the sample, instead of regenerating the synthetic population.
        self.current = current
        self.draw_space = len(current) if current is not None else persons
        if self.draw_space < 1:
            raise ValueError("a stream needs at least one person to draw from")
        if self.draw_space > new_index_base(persons, stream):
            raise ValueError("the sample of current rows overlaps the stream's new person indices")
        self.touched: dict[int, _Person] = {}
        self.new_people: list[int] = []
        self.moved_out: list[int] = []  # persons the stream removed by 国内転出
        self.abroad: list[int] = []  # persons the stream sent abroad (File 2 abroad)
        self.fuhyo_ended: list[int] = []  # File 2 ended by 転籍 in the stream
        self.next_index = new_index_base(persons, stream)
        self.seq = 0
        self.emitted = 0
        self.accepted: list[dict[str, object]] = []

    # -- persons -----------------------------------------------------------------------------------

    def get(self, index: int) -> _Person:
        p = self.touched.get(index)
        if p is not None:
            return p
        if self.current is not None and index < self.draw_space:
            pref, fuhyo = self.current[index]
            return _Person(list(pref), list(fuhyo) if fuhyo is not None else None)
        sp = make_person(self.seed, index, self.prefecture)
        return _Person(list(sp.pref_current), list(sp.fuhyo_current) if sp.fuhyo_current else None)

    def new_index(self) -> int:
        index = self.next_index
        if index >= new_index_base(self.persons, self.stream + 1):
            raise RuntimeError("this stream has used up its range of new person indices")
        self.next_index += 1
        return index

    def pick(
        self, ok: _Pick, tries: int = 200, prefer: list[int] | None = None
    ) -> tuple[int, _Person] | None:
        """A person satisfying ``ok``: from ``prefer`` first, then at random (population or new)."""
        below = self.d.below
        if prefer:
            for _ in range(4):
                index = prefer[below(len(prefer))]
                p = self.get(index)
                if ok(p):
                    return index, p
        for _ in range(tries):
            if self.new_people and below(10) == 0:
                index = self.new_people[below(len(self.new_people))]
            else:
                index = below(self.draw_space)
            p = self.get(index)
            if ok(p):
                return index, p
        return None

    def today(self) -> str:
        ordinal = self.first_day + self.emitted * self.span // max(1, self.count)
        return date.fromordinal(ordinal).isoformat()

    def age_on(self, p: _Person, day: str) -> int | None:
        birth = _birth_ordinal(p.pref[_PBIRTH])
        if birth is None:
            return None
        return (date.fromisoformat(day).toordinal() - birth) // 365

    def new_address(self, pl: Place) -> tuple[str, str]:
        loc = draw_loc(self.d, pl)
        return render(pl, loc, draw_style(self.d, pl)), aza_code(pl, loc)

    def other_place(self, not_code: str, other_city: bool = False) -> Place:
        """A weighted municipality of the prefecture other than ``not_code`` (and its city if
        ``other_city``)."""
        avoid = place(not_code).city_code if other_city else not_code
        while True:
            pl = draw_place(self.d, self.prefecture)
            if pl.code != not_code and (not other_city or pl.city_code != avoid):
                return pl

    # -- notifications ------------------------------------------------------------------------------

    def note(
        self,
        file: FileKind,
        sender: str,
        reason: str,
        day: str,
        code: str,
        record: dict[str, object] | None,
        new_code: str | None = None,
    ) -> dict[str, object]:
        self.seq += 1
        n: dict[str, object] = {
            "file": file.value,
            "municipality_code": sender,
            "notification_id": f"{sender}-{self.stream:04d}-{self.seq:09d}",
            "reason": reason,
            "change_date": day,
            "juminhyo_code": code,
        }
        if new_code is not None:
            n["new_juminhyo_code"] = new_code
        if record is not None:
            n["record"] = record
        return n

    def stamp(self, p: _Person, reason: str, day: str, status: str = _PRESENT, end_kind: str = "") -> None:
        row = p.pref
        row[_PREASON], row[_PDATE], row[_PNOTIFIED] = reason, day, day
        row[_PSTATUS], row[_PEND], row[_PENDED] = status, end_kind, day if end_kind else ""

    def fstamp(self, p: _Person, reason: str, day: str, status: str = _F_DOMESTIC) -> None:
        assert p.fuhyo is not None
        row = p.fuhyo
        row[_FREASON], row[_FDATE], row[_FNOTIFIED], row[_FSTATUS] = reason, day, day, status

    def fuhyo_address_note(self, p: _Person, reason: str, day: str) -> dict[str, object]:
        """File 2 notification carrying the person's new File 1 address (state updated)."""
        assert p.fuhyo is not None
        f = p.fuhyo
        f[_FAMUNI], f[_FADDR], f[_FLAST] = p.pref[_PMUNI], p.pref[_PADDR], ""
        f[_FNAME], f[_FKANA], f[_FBIRTH] = p.pref[_PNAME], p.pref[_PKANA], p.pref[_PBIRTH]
        f[_FSEX] = p.pref[_PSEX]
        self.fstamp(p, reason, day)
        return self.note(FileKind.FUHYO, f[_FMUNI], reason, day, f[_FC], _fuhyo_record(f))
