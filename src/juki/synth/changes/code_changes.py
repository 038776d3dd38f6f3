"""Change-stream events that change a person's numbers: 個人番号 and 住民票コード."""

from __future__ import annotations

from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FileKind,
)
from juki.synth.changes.base import (
    _F_ENDED,
    _FC,
    _FMUNI,
    _FOLD,
    _FSTATUS,
    _PC,
    _PMUNI,
    _PMYNUM,
    _fuhyo_record,
    _Out,
    _pref_record,
    _StreamBase,
)
from juki.synth.ids import juminhyo_code_for, my_number_for


class _CodeChanges(_StreamBase):
    """個人番号の変更請求 and 住民票コードの変更請求."""

    # Each returns the notifications of one event, File 1 first; the state is already updated.

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
