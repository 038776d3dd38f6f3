"""Change-stream events that move a person: 転居, 転出, 転入, 国外転出, 国外転入, 転籍 (File 2)."""

from __future__ import annotations

from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    EndKind,
    FileKind,
)
from juki.synth.changes.base import (
    _ENDED,
    _F_ABROAD,
    _F_ENDED,
    _FADDR,
    _FAMUNI,
    _FC,
    _FLAST,
    _FMUNI,
    _FSTATUS,
    _PADDR,
    _PAZA,
    _PC,
    _PMUNI,
    _PREASON,
    _PSTATUS,
    _fuhyo_record,
    _Out,
    _Person,
    _pref_record,
    _StreamBase,
)
from juki.synth.places import (
    COUNTRIES,
    draw_loc,
    draw_place,
    other_ward,
    out_of_pref_place,
    place,
    render,
)
from juki.synth.population import make_person


class _Moves(_StreamBase):
    """Events that change where a person lives (or which 附票 they have)."""

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
            dest = out_of_pref_place(self.d, self.prefecture)
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
            sp = make_person(self.seed, index, self.prefecture)
            p = _Person(list(sp.pref_current), None)
            self.new_people.append(index)
        else:
            index, p = found
        row = p.pref
        pl = draw_place(self.d, self.prefecture)
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
        pl = draw_place(self.d, self.prefecture)
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
