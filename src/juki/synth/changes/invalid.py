"""Deliberately invalid change-stream items, each with the code the server must answer."""

from __future__ import annotations

import json

from juki.domain.lgcodes import for_prefecture
from juki.domain.reasons import ChangeReason as R
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    EndKind,
    FileKind,
)
from juki.synth.changes.base import (
    _ENDED,
    _F_ENDED,
    _FC,
    _FMUNI,
    _FREASON,
    _FSTATUS,
    _FULL_WIDTH,
    _HALF_WIDTH,
    _PADDR,
    _PAZA,
    _PC,
    _PEND,
    _PKANA,
    _PMUNI,
    _PMYNUM,
    _PNAME,
    _PSTATUS,
    _UNKNOWN_INDEX_BASE,
    DUPLICATE,
    SynthChange,
    _Person,
    _pref_record,
    _StreamBase,
)
from juki.synth.ids import my_number_for
from juki.synth.names import SEP, family_other_than
from juki.synth.places import (
    place,
)
from juki.synth.population import make_person


class _Invalid(_StreamBase):
    """Invalid items; they never change the tracked state."""

    # Invalid items (never change the state).

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
            pref_name = for_prefecture(self.prefecture).prefecture().name
            extra["honseki"] = pref_name + row[_PADDR].removeprefix(pref_name)[:6]
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
        template = make_person(self.seed, _UNKNOWN_INDEX_BASE + self.seq % 100_000_000, self.prefecture)
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
