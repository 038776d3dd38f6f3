"""Change-stream events that begin or end a life: 出生, 死亡."""

from __future__ import annotations

from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    PREF_CSV_COLUMNS,
    EndKind,
    FileKind,
)
from juki.synth.changes.base import (
    _ENDED,
    _F_ENDED,
    _FC,
    _FMUNI,
    _FSTATUS,
    _PADDR,
    _PAZA,
    _PBIRTH,
    _PC,
    _PKANA,
    _PMUNI,
    _PMYNUM,
    _PNAME,
    _PSEX,
    _Out,
    _Person,
    _pref_record,
    _StreamBase,
)
from juki.synth.ids import juminhyo_code_for, my_number_for
from juki.synth.names import SEP, given_pool


class _BirthsAndDeaths(_StreamBase):
    """出生 (a child of a resident mother) and 死亡 (concentrated in old age)."""

    # Each returns the notifications of one event, File 1 first; the state is already updated.

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
