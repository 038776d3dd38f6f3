"""Change-stream events that correct a record: 修正 reasons and 旧氏の記載."""

from __future__ import annotations

from datetime import date

from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FileKind,
)
from juki.synth.changes.base import (
    _F_DOMESTIC,
    _FADDR,
    _FSTATUS,
    _FULL_WIDTH,
    _HALF_WIDTH,
    _PADDR,
    _PBIRTH,
    _PC,
    _PFORMER_K,
    _PFORMER_KANA,
    _PKANA,
    _PMUNI,
    _PNAME,
    _PSEX,
    _Out,
    _Person,
    _pref_record,
    _StreamBase,
)
from juki.synth.names import SEP, family_other_than


class _Corrections(_StreamBase):
    """軽微な修正, 誤記修正, 職権修正 and 旧氏の記載."""

    # Each returns the notifications of one event, File 1 first; the state is already updated.

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
