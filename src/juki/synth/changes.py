"""Synthetic change streams: notifications valid against a synthetic population (and some that are not).

``generate_changes(persons, seed, count)`` yields notifications in the JSON shape of
``juki.domain.records`` that are valid against the population ``(persons, seed)`` *as it stands after
the earlier notifications of the same stream*. Persons are regenerated on demand with
:func:`~juki.synth.population.make_person`; only the persons a stream touches are kept (in a
dict), so memory grows with the number of changes, not with the population.

Senders follow docs/error-codes.md: a municipality touches only its own residents, a 記載
registers in the sender's municipality, a 転居 between wards of one designated city is sent by the new
ward, and File 2 notifications come from the 附票管理市町村 (``fuhyo_municipality_code``).

Persons born or moving in during stream ``s`` use indices ``persons + (s - 1) * 800_000 + k``, new
個人番号 and 住民票コード come from such indices too, so nothing collides with the population or with
another stream. With ``invalid_share`` > 0 that share of the items is deliberately wrong, each with the
error code the server must answer in ``expect``; invalid items never change the tracked state.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import Final

from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    FUHYO_NOTIFIED_ITEMS,
    PREF_CSV_COLUMNS,
    PREF_NOTIFIED_ITEMS,
    EndKind,
    FileKind,
    FuhyoStatus,
    RecordStatus,
)
from juki.synth.draw import Draw
from juki.synth.ids import juminhyo_code_for, my_number_for
from juki.synth.names import SEP, family_other_than, given_pool
from juki.synth.places import (
    COUNTRIES,
    Place,
    aza_code,
    draw_loc,
    draw_place,
    draw_style,
    other_ward,
    out_of_pref_place,
    place,
    render,
)
from juki.synth.population import POPULATION_AS_OF, make_person

__all__ = [
    "ACCEPTED",
    "DEFAULT_RECEIVED_ON",
    "DUPLICATE",
    "INVALID_KINDS",
    "SynthChange",
    "generate_changes",
    "new_index_base",
]

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


class _Stream:
    """Generates the items of one stream; holds the touched persons."""

    def __init__(
        self,
        persons: int,
        seed: int,
        count: int,
        stream: int,
        invalid_share: float,
        files: tuple[FileKind, ...],
        received_on: date,
    ) -> None:
        if not 0 < persons <= _MAX_PERSONS:
            raise ValueError(f"persons must be within 1..{_MAX_PERSONS}")
        self.persons = persons
        self.seed = seed
        self.count = count
        self.stream = stream
        self.invalid_ppm = round(invalid_share * 1_000_000)
        self.files = frozenset(files)
        self.d = Draw(f"changes/{seed}/{persons}/{stream}")
        self.first_day = min(POPULATION_AS_OF.toordinal(), received_on.toordinal())
        self.span = received_on.toordinal() - self.first_day
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
        sp = make_person(self.seed, index)
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
                index = below(self.persons)
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
        """A weighted Kanagawa municipality other than ``not_code`` (and its city if ``other_city``)."""
        avoid = place(not_code).city_code if other_city else not_code
        while True:
            pl = draw_place(self.d)
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

    # -- valid events ---------------------------------------------------------------------------------
    # Each returns the notifications of one event, File 1 first; the state is already updated.

    def ev_relocation(self, day: str) -> _Out:
        found = self.pick(lambda p: p.present)
        if found is None:
            return []
        index, p = found
        row = p.pref
        old_address = row[_PADDR]
        pl = place(row[_PMUNI])
        if pl.city_code != pl.code and self.d.below(100) < 25:
            pl = other_ward(self.d, pl)
        while row[_PADDR] == old_address:  # a 転居 always changes the address
            row[_PADDR], row[_PAZA] = self.new_address(pl)
        row[_PMUNI] = pl.code
        self.stamp(p, R.RELOCATION.value, day)
        self.touched[index] = p
        out = [
            (
                FileKind.PREF,
                self.note(FileKind.PREF, pl.code, R.RELOCATION.value, day, row[_PC], _pref_record(row)),
            )
        ]
        if p.fuhyo_domestic and p.fuhyo is not None and p.fuhyo[_FADDR] == old_address:
            out.append((FileKind.FUHYO, self.fuhyo_address_note(p, R.RELOCATION.value, day)))
        return out

    def ev_move_out(self, day: str) -> _Out:
        found = self.pick(lambda p: p.present)
        if found is None:
            return []
        index, p = found
        row = p.pref
        sender = row[_PMUNI]
        self.stamp(p, R.DOMESTIC_MOVE_OUT.value, day, _ENDED, EndKind.REMOVED.value)
        self.touched[index] = p
        out = [
            (FileKind.PREF, self.note(FileKind.PREF, sender, R.DOMESTIC_MOVE_OUT.value, day, row[_PC], None))
        ]
        if self.d.below(100) < 35:  # to another municipality of Kanagawa: 転入 there at once
            pl = self.other_place(sender)
            row[_PADDR], row[_PAZA] = self.new_address(pl)
            row[_PMUNI] = pl.code
            self.stamp(p, R.DOMESTIC_MOVE_IN.value, day)
            rec = _pref_record(row)
            out.append(
                (
                    FileKind.PREF,
                    self.note(FileKind.PREF, pl.code, R.DOMESTIC_MOVE_IN.value, day, row[_PC], rec),
                )
            )
            if p.fuhyo_domestic:
                out.append((FileKind.FUHYO, self.fuhyo_address_note(p, R.DOMESTIC_MOVE_IN.value, day)))
            return out
        self.moved_out.append(index)
        if p.fuhyo_domestic and p.fuhyo is not None:
            f = p.fuhyo
            dest = out_of_pref_place(self.d)
            f[_FAMUNI], f[_FADDR], f[_FLAST] = dest.code, render(dest, draw_loc(self.d, dest), 0), ""
            self.fstamp(p, R.DOMESTIC_MOVE_OUT.value, day)
            reason = R.DOMESTIC_MOVE_OUT.value
            out.append(
                (FileKind.FUHYO, self.note(FileKind.FUHYO, f[_FMUNI], reason, day, f[_FC], _fuhyo_record(f)))
            )
        return out

    def ev_move_in(self, day: str) -> _Out:
        found = None
        if self.d.below(100) < 40:  # a former resident comes back
            found = self.pick(
                lambda p: p.pref[_PSTATUS] == _ENDED and p.pref[_PREASON] == R.DOMESTIC_MOVE_OUT.value,
                tries=60,
                prefer=self.moved_out,
            )
        if found is None:  # a new person from another prefecture
            index = self.new_index()
            sp = make_person(self.seed, index)
            p = _Person(list(sp.pref_current), None)
            self.new_people.append(index)
        else:
            index, p = found
        row = p.pref
        pl = draw_place(self.d)
        row[_PADDR], row[_PAZA] = self.new_address(pl)
        row[_PMUNI] = pl.code
        self.stamp(p, R.DOMESTIC_MOVE_IN.value, day)
        self.touched[index] = p
        out = [
            (
                FileKind.PREF,
                self.note(FileKind.PREF, pl.code, R.DOMESTIC_MOVE_IN.value, day, row[_PC], _pref_record(row)),
            )
        ]
        if p.fuhyo_domestic:
            out.append((FileKind.FUHYO, self.fuhyo_address_note(p, R.DOMESTIC_MOVE_IN.value, day)))
        return out

    def ev_birth(self, day: str) -> _Out:
        def mother(p: _Person) -> bool:
            if not (p.present and p.pref[_PSEX] == "2" and p.fuhyo_domestic):
                return False
            age = self.age_on(p, day)
            return age is not None and 20 <= age <= 44

        found = self.pick(mother, tries=120)
        if found is None:
            return []
        _, m = found
        index = self.new_index()
        sex = "1" if self.d.below(1000) < 512 else "2"
        given = given_pool(sex, 2026).pick(self.d)
        family_k = m.pref[_PNAME].split(SEP, 1)[0]
        family_kana = m.pref[_PKANA].split(SEP, 1)[0]
        code = juminhyo_code_for(self.seed, index)
        row = [""] * len(PREF_CSV_COLUMNS)
        row[_PC], row[_PNAME], row[_PKANA] = code, family_k + SEP + given[0], family_kana + SEP + given[1]
        row[_PBIRTH], row[_PSEX] = day, sex
        row[_PADDR], row[_PMUNI], row[_PAZA] = m.pref[_PADDR], m.pref[_PMUNI], m.pref[_PAZA]
        row[_PMYNUM] = my_number_for(self.seed, index)
        p = _Person(row, None)
        self.stamp(p, R.BIRTH.value, day)
        out = [
            (
                FileKind.PREF,
                self.note(FileKind.PREF, row[_PMUNI], R.BIRTH.value, day, code, _pref_record(row)),
            )
        ]
        assert m.fuhyo is not None
        f = [""] * len(FUHYO_CSV_COLUMNS)
        f[_FC], f[_FMUNI] = code, m.fuhyo[_FMUNI]
        p.fuhyo = f
        out.append((FileKind.FUHYO, self.fuhyo_address_note(p, R.BIRTH.value, day)))
        self.touched[index] = p
        self.new_people.append(index)
        return out

    def ev_death(self, day: str) -> _Out:
        # The oldest of a few present persons: deaths concentrate in old age.
        best: tuple[int, _Person] | None = None
        for _ in range(3):
            found = self.pick(lambda p: p.present)
            if found is not None and (best is None or found[1].pref[_PBIRTH] < best[1].pref[_PBIRTH]):
                best = found
        if best is None:
            return []
        index, p = best
        self.stamp(p, R.DEATH.value, day, _ENDED, EndKind.DEATH.value)
        self.touched[index] = p
        out = [
            (FileKind.PREF, self.note(FileKind.PREF, p.pref[_PMUNI], R.DEATH.value, day, p.pref[_PC], None))
        ]
        if p.fuhyo is not None and p.fuhyo[_FSTATUS] != _F_ENDED:
            self.fstamp(p, R.DEATH.value, day, _F_ENDED)
            out.append(
                (
                    FileKind.FUHYO,
                    self.note(FileKind.FUHYO, p.fuhyo[_FMUNI], R.DEATH.value, day, p.fuhyo[_FC], None),
                )
            )
        return out

    def ev_correction(self, day: str) -> _Out:
        kind = self.d.below(10)
        if kind < 4:  # 軽微な修正: the address written with other digits
            reason = R.MINOR_CORRECTION.value
            found = self.pick(lambda p: p.present)
        elif kind < 7:  # 誤記修正: the day of birth
            reason = R.CLERICAL_CORRECTION.value

            def misdated(p: _Person) -> bool:
                age = self.age_on(p, day)  # None unless an ISO calendar date
                return p.present and age is not None and age >= 1 and p.pref[_PBIRTH][8:] < "28"

            found = self.pick(misdated)
        else:  # 職権修正: the family name changes at marriage
            reason = R.EX_OFFICIO_CORRECTION.value

            def bride(p: _Person) -> bool:
                age = self.age_on(p, day)
                return (
                    p.present
                    and p.pref[_PSEX] == "2"
                    and not p.pref[_PFORMER_K]
                    and age is not None
                    and 20 <= age < 50
                )

            found = self.pick(bride)
        if found is None:
            return []
        index, p = found
        row = p.pref
        old_address = row[_PADDR]
        if kind < 4:
            addr = old_address.translate(_HALF_WIDTH)
            row[_PADDR] = addr if addr != old_address else old_address.translate(_FULL_WIDTH)
        elif kind < 7:
            b = date.fromisoformat(row[_PBIRTH])
            row[_PBIRTH] = b.replace(day=b.day + 1).isoformat()
        else:
            family = family_other_than(self.d, row[_PNAME].split(SEP, 1)[0])
            given = row[_PNAME].split(SEP, 1)[1], row[_PKANA].split(SEP, 1)[1]
            row[_PNAME], row[_PKANA] = family[0] + SEP + given[0], family[1] + SEP + given[1]
        self.stamp(p, reason, day)
        self.touched[index] = p
        out = [
            (FileKind.PREF, self.note(FileKind.PREF, row[_PMUNI], reason, day, row[_PC], _pref_record(row)))
        ]
        if p.fuhyo is not None and p.fuhyo[_FSTATUS] == _F_DOMESTIC and p.fuhyo[_FADDR] == old_address:
            out.append((FileKind.FUHYO, self.fuhyo_address_note(p, reason, day)))
        return out

    def ev_former_surname(self, day: str) -> _Out:
        def ok(p: _Person) -> bool:
            age = self.age_on(p, day)
            return (
                p.present and p.pref[_PSEX] == "2" and not p.pref[_PFORMER_K] and p.fuhyo is not None
                and age is not None and age >= 25
            )  # fmt: skip

        found = self.pick(ok)
        if found is None:
            return []
        index, p = found
        row = p.pref
        row[_PFORMER_K], row[_PFORMER_KANA] = family_other_than(self.d, row[_PNAME].split(SEP, 1)[0])
        self.stamp(p, R.FORMER_SURNAME_ENTRY.value, day)
        self.touched[index] = p
        reason = R.FORMER_SURNAME_ENTRY.value
        return [
            (FileKind.PREF, self.note(FileKind.PREF, row[_PMUNI], reason, day, row[_PC], _pref_record(row)))
        ]

    def ev_my_number(self, day: str) -> _Out:
        found = self.pick(lambda p: p.present)
        if found is None:
            return []
        index, p = found
        row = p.pref
        row[_PMYNUM] = my_number_for(self.seed, self.new_index())
        reason = R.MY_NUMBER_CHANGE_REQUEST.value
        self.stamp(p, reason, day)
        self.touched[index] = p
        return [
            (FileKind.PREF, self.note(FileKind.PREF, row[_PMUNI], reason, day, row[_PC], _pref_record(row)))
        ]

    def ev_juminhyo_code(self, day: str) -> _Out:
        found = self.pick(lambda p: p.present)
        if found is None:
            return []
        index, p = found
        row = p.pref
        old, new = row[_PC], juminhyo_code_for(self.seed, self.new_index())
        reason = R.JUMINHYO_CODE_CHANGE_REQUEST.value
        row[_PC] = new
        self.stamp(p, reason, day)
        self.touched[index] = p
        out = [
            (FileKind.PREF, self.note(FileKind.PREF, row[_PMUNI], reason, day, old, _pref_record(row), new))
        ]
        if p.fuhyo is not None and p.fuhyo[_FSTATUS] != _F_ENDED:
            f = p.fuhyo
            f[_FC], f[_FOLD] = new, old
            self.fstamp(p, reason, day, f[_FSTATUS])
            out.append(
                (
                    FileKind.FUHYO,
                    self.note(FileKind.FUHYO, f[_FMUNI], reason, day, old, _fuhyo_record(f), new),
                )
            )
        return out

    def ev_overseas_out(self, day: str) -> _Out:
        found = self.pick(lambda p: p.present)
        if found is None:
            return []
        index, p = found
        row = p.pref
        reason = R.OVERSEAS_MOVE_OUT.value
        self.stamp(p, reason, day, _ENDED, EndKind.REMOVED.value)
        self.touched[index] = p
        out = [(FileKind.PREF, self.note(FileKind.PREF, row[_PMUNI], reason, day, row[_PC], None))]
        if p.fuhyo_domestic and p.fuhyo is not None:
            f = p.fuhyo
            f[_FAMUNI], f[_FADDR], f[_FLAST] = "", self.d.pick(COUNTRIES), row[_PADDR]
            self.fstamp(p, reason, day, _F_ABROAD)
            self.abroad.append(index)
            out.append(
                (FileKind.FUHYO, self.note(FileKind.FUHYO, f[_FMUNI], reason, day, f[_FC], _fuhyo_record(f)))
            )
        return out

    def ev_overseas_in(self, day: str) -> _Out:
        found = self.pick(
            lambda p: p.fuhyo is not None and p.fuhyo[_FSTATUS] == _F_ABROAD and not p.present,
            tries=60,
            prefer=self.abroad,
        )
        if found is None:
            return self.ev_relocation(day)
        index, p = found
        row = p.pref
        pl = draw_place(self.d)
        row[_PADDR], row[_PAZA] = self.new_address(pl)
        row[_PMUNI] = pl.code
        reason = R.OVERSEAS_MOVE_IN.value
        self.stamp(p, reason, day)
        self.touched[index] = p
        out = [(FileKind.PREF, self.note(FileKind.PREF, pl.code, reason, day, row[_PC], _pref_record(row)))]
        out.append((FileKind.FUHYO, self.fuhyo_address_note(p, reason, day)))
        return out

    def ev_fuhyo_transfer(self, day: str) -> _Out:
        """転籍 out of Kanagawa: the Kanagawa 附票 ends (File 2 only)."""
        found = self.pick(lambda p: p.present and p.fuhyo_domestic)
        if found is None:
            return []
        index, p = found
        assert p.fuhyo is not None
        reason = R.EX_OFFICIO_REMOVAL.value
        self.fstamp(p, reason, day, _F_ENDED)
        self.touched[index] = p
        self.fuhyo_ended.append(index)
        return [(FileKind.FUHYO, self.note(FileKind.FUHYO, p.fuhyo[_FMUNI], reason, day, p.fuhyo[_FC], None))]

    # -- invalid items (never change the state) -------------------------------------------------------

    def invalid(self, kind: str, day: str) -> SynthChange | None:
        d = self.d
        pref_ok = FileKind.PREF in self.files
        if kind == DUPLICATE:
            if not self.accepted:
                return None
            return SynthChange(self.accepted[d.below(len(self.accepted))], None, DUPLICATE)
        file = FileKind.PREF if pref_ok else FileKind.FUHYO
        if kind in ("E_JSON", "E_ENCODING"):
            # Built on a notification with a record, so that it holds Japanese text.
            base = self.invalid_not_found(file, day).notification
            text = json.dumps(base, ensure_ascii=False, separators=(",", ":"))
            if kind == "E_JSON":
                return SynthChange(None, text[: len(text) // 2].encode(), kind)
            raw = text.encode("cp932", errors="replace")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return SynthChange(None, raw, kind)
            return None  # pragma: no cover - Japanese text in cp932 is never valid UTF-8
        if kind == "E_PERSON_NOT_FOUND":
            return self.invalid_not_found(file, day)
        if kind == "E_ALREADY_ENDED" and (not pref_ok or (FileKind.FUHYO in self.files and d.below(2) == 0)):
            return self.invalid_fuhyo_ended(day)
        if not pref_ok:
            return None
        if kind == "E_ALREADY_ENDED":
            found = self.pick(
                lambda p: p.pref[_PSTATUS] == _ENDED and p.pref[_PEND] == EndKind.REMOVED.value,
                tries=100,
                prefer=self.moved_out,
            )
            if found is None:
                return None
            row = found[1].pref
            n = self.note(FileKind.PREF, row[_PMUNI], R.DOMESTIC_MOVE_OUT.value, day, row[_PC], None)
            return SynthChange(n, None, kind)
        found = self.pick(lambda p: p.present)
        if found is None:
            return None
        row = list(found[1].pref)  # a copy: invalid items never change the state
        sender = row[_PMUNI]
        reason = R.RELOCATION.value
        extra: dict[str, object] = {}
        if kind == "E_ENTRY_PERSON_PRESENT":
            reason = R.DOMESTIC_MOVE_IN.value
            row[_PADDR], row[_PAZA] = self.new_address(place(sender))
        elif kind == "E_RELOCATION_NON_ADDRESS":
            row[_PADDR], row[_PAZA] = self.new_address(place(sender))
            family = family_other_than(d, row[_PNAME].split(SEP, 1)[0])
            row[_PNAME] = family[0] + SEP + row[_PNAME].split(SEP, 1)[1]
            row[_PKANA] = family[1] + SEP + row[_PKANA].split(SEP, 1)[1]
        elif kind == "E_MY_NUMBER_INVALID":
            reason = R.MY_NUMBER_CHANGE_REQUEST.value
            good = my_number_for(self.seed, _UNKNOWN_INDEX_BASE + self.seq)
            row[_PMYNUM] = good[:11] + str((int(good[11]) + 1) % 10)
        elif kind == "E_LG_CODE_INVALID":
            row[_PADDR], row[_PAZA] = self.new_address(place(sender))
            row[_PMUNI] = sender[:5] + str((int(sender[5]) + 1) % 10)
        elif kind == "E_REASON_UNKNOWN":
            reason = "moving_house"
            row[_PADDR], row[_PAZA] = self.new_address(place(sender))
        elif kind == "E_ITEM_NOT_NOTIFIABLE":
            row[_PADDR], row[_PAZA] = self.new_address(place(sender))
            extra["honseki"] = "神奈川県" + row[_PADDR].removeprefix("神奈川県")[:6]
        elif kind == "E_OTHER_MUNICIPALITY":
            reason = R.MINOR_CORRECTION.value
            addr = row[_PADDR].translate(_HALF_WIDTH)
            row[_PADDR] = addr if addr != row[_PADDR] else row[_PADDR].translate(_FULL_WIDTH)
            sender = self.other_place(sender, other_city=True).code
        else:  # pragma: no cover - every kind is handled above
            raise ValueError(kind)
        rec = _pref_record(row)
        rec.update(extra)
        return SynthChange(self.note(FileKind.PREF, sender, reason, day, row[_PC], rec), None, kind)

    def invalid_not_found(self, file: FileKind, day: str) -> SynthChange:
        """A 転居 for a 住民票コード that no population or stream ever uses → E_PERSON_NOT_FOUND."""
        template = make_person(self.seed, _UNKNOWN_INDEX_BASE + self.seq % 100_000_000)
        p = _Person(list(template.pref_current), None)
        p.pref[_PADDR], p.pref[_PAZA] = self.new_address(place(p.pref[_PMUNI]))
        if file is FileKind.PREF:
            rec = _pref_record(p.pref)
            n = self.note(file, p.pref[_PMUNI], R.RELOCATION.value, day, p.pref[_PC], rec)
        else:
            p.fuhyo = [""] * len(FUHYO_CSV_COLUMNS)
            p.fuhyo[_FC], p.fuhyo[_FMUNI] = p.pref[_PC], p.pref[_PMUNI]
            n = self.fuhyo_address_note(p, R.RELOCATION.value, day)
        return SynthChange(n, None, "E_PERSON_NOT_FOUND")

    def invalid_fuhyo_ended(self, day: str) -> SynthChange | None:
        """File 2 消除 (職権消除) of a 附票 record already ended by 転籍 → E_ALREADY_ENDED."""
        found = self.pick(
            lambda p: p.fuhyo is not None and p.fuhyo[_FSTATUS] == _F_ENDED
            and p.fuhyo[_FREASON] == R.EX_OFFICIO_REMOVAL.value,
            tries=100,
            prefer=self.fuhyo_ended,
        )  # fmt: skip
        if found is None or found[1].fuhyo is None:
            return None
        f = found[1].fuhyo
        n = self.note(FileKind.FUHYO, f[_FMUNI], R.EX_OFFICIO_REMOVAL.value, day, f[_FC], None)
        return SynthChange(n, None, "E_ALREADY_ENDED")

    # -- the stream ---------------------------------------------------------------------------------------

    def items(self) -> Iterator[SynthChange]:
        events: tuple[tuple[Callable[[str], _Out], int], ...] = (
            (self.ev_relocation, 38),
            (self.ev_move_out, 9),
            (self.ev_move_in, 9),
            (self.ev_birth, 8),
            (self.ev_death, 6),
            (self.ev_correction, 8),
            (self.ev_former_surname, 3),
            (self.ev_my_number, 3),
            (self.ev_juminhyo_code, 1),
            (self.ev_overseas_out, 4),
            (self.ev_overseas_in, 2),
            (self.ev_fuhyo_transfer, 1),
        )
        cum = list(accumulate(w for _, w in events))
        total = cum[-1]
        d = self.d
        idle = n_invalid = 0
        while self.emitted < self.count:
            idle += 1
            if idle > 10_000:
                raise RuntimeError("no person fits any change: the population is too small")
            day = self.today()
            # Keep the invalid items at their share of the items emitted so far (a valid event may
            # yield two items, so a per-event coin would undershoot).
            if self.invalid_ppm and n_invalid * 1_000_000 < self.invalid_ppm * (self.emitted + 1):
                item = self.invalid(INVALID_KINDS[d.below(len(INVALID_KINDS))], day)
                if item is not None:
                    self.emitted += 1
                    n_invalid += 1
                    idle = 0
                    yield item
                continue
            event = events[bisect_right(cum, d.below(total))][0]
            for file, n in event(day):
                if file in self.files and self.emitted < self.count:
                    self.emitted += 1
                    idle = 0
                    if len(self.accepted) < 1000:
                        self.accepted.append(n)
                    yield SynthChange(n, None, ACCEPTED)


def generate_changes(
    persons: int,
    seed: int,
    count: int,
    *,
    stream: int = 1,
    invalid_share: float = 0.0,
    files: tuple[FileKind, ...] = (FileKind.PREF, FileKind.FUHYO),
    received_on: date | None = None,
) -> Iterator[SynthChange]:
    """``count`` items of change stream ``stream`` against the population ``(persons, seed)``.

    Deterministic for equal arguments. Change dates run from :data:`POPULATION_AS_OF` to
    ``received_on`` (default :data:`DEFAULT_RECEIVED_ON`) in stream order. Only notifications for
    ``files`` are yielded (the others still happen: the state stays realistic).
    """
    if not 1 <= stream <= 9999:
        raise ValueError("stream must be 1..9999")
    if not 0.0 <= invalid_share <= 1.0:
        raise ValueError("invalid_share must be within 0..1")
    s = _Stream(persons, seed, count, stream, invalid_share, files, received_on or DEFAULT_RECEIVED_ON)
    return s.items()
