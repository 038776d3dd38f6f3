"""異動事由 (change reasons): the internal enumeration and what each reason may do.

DOMAIN.md §4: the numeric codes of the J-LIS messages are not public, so reasons are an internal
enumeration; any external numeric code is mapped by a data table, never hard-coded here.
The classification 記載 / 消除 / 修正 follows the MIC 住民記録システム標準仕様書 1.2.2.

The two files share the enumeration but classify some reasons differently: File 2 (附票) follows
the 戸籍 and outlives moves, so a 国外転出 does not end a 附票 record — it turns its person into a
国外転出者 (the very people File 2 exists for) — and a 国内転入/転出 only changes its address.
That difference is data (`_FUHYO_OVERRIDES`), not separate code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from juki.domain.records import FileKind


class ReasonClass(StrEnum):
    """What a reason does to a record."""

    ENTRY = "記載"  # a record begins
    REMOVAL = "消除"  # a record ends
    CORRECTION = "修正"  # a present record changes


class ChangeReason(StrEnum):
    """The change reasons of DOMAIN.md §4 (value = the code used in notifications)."""

    # 記載
    DOMESTIC_MOVE_IN = "domestic_move_in"
    OVERSEAS_MOVE_IN = "overseas_move_in"
    BIRTH = "birth"
    EX_OFFICIO_ENTRY_NATURALIZATION = "ex_officio_entry_naturalization"
    EX_OFFICIO_ENTRY_NATIONALITY_LOSS = "ex_officio_entry_nationality_loss"
    EX_OFFICIO_ENTRY = "ex_officio_entry"
    REMAKE_ENTRY = "remake_entry"
    REISSUE_ENTRY = "reissue_entry"
    CANCEL_INCREASE = "cancel_increase"
    # 消除
    DOMESTIC_MOVE_OUT = "domestic_move_out"
    OVERSEAS_MOVE_OUT = "overseas_move_out"
    DEATH = "death"
    EX_OFFICIO_REMOVAL_NATURALIZATION = "ex_officio_removal_naturalization"
    EX_OFFICIO_REMOVAL_NATIONALITY_LOSS = "ex_officio_removal_nationality_loss"
    EX_OFFICIO_REMOVAL = "ex_officio_removal"
    REMAKE_REMOVAL = "remake_removal"
    REISSUE_REMOVAL = "reissue_removal"
    CANCEL_DECREASE = "cancel_decrease"
    # 修正
    RELOCATION = "relocation"
    MINOR_CORRECTION = "minor_correction"
    EX_OFFICIO_CORRECTION = "ex_officio_correction"
    CLERICAL_CORRECTION = "clerical_correction"
    MY_NUMBER_CHANGE_REQUEST = "my_number_change_request"
    MY_NUMBER_EX_OFFICIO_CORRECTION = "my_number_ex_officio_correction"
    MY_NUMBER_EX_OFFICIO_ENTRY = "my_number_ex_officio_entry"
    JUMINHYO_CODE_CHANGE_REQUEST = "juminhyo_code_change_request"
    JUMINHYO_CODE_EX_OFFICIO_ENTRY = "juminhyo_code_ex_officio_entry"
    HOUSEHOLD_SPLIT = "household_split"
    HOUSEHOLD_MERGE = "household_merge"
    HOUSEHOLD_CHANGE = "household_change"
    HEAD_OF_HOUSEHOLD_CHANGE = "head_of_household_change"
    FORMER_SURNAME_ENTRY = "former_surname_entry"
    FORMER_SURNAME_CHANGE = "former_surname_change"
    FORMER_SURNAME_REMOVAL = "former_surname_removal"
    ALIAS_ENTRY = "alias_entry"
    ALIAS_REMOVAL = "alias_removal"
    CANCEL_CORRECTION = "cancel_correction"

    @property
    def label(self) -> str:
        """The Japanese name shown to operators."""
        return _LABELS[self]


_LABELS: dict[ChangeReason, str] = {
    ChangeReason.DOMESTIC_MOVE_IN: "国内転入",
    ChangeReason.OVERSEAS_MOVE_IN: "国外転入等",
    ChangeReason.BIRTH: "出生",
    ChangeReason.EX_OFFICIO_ENTRY_NATURALIZATION: "職権記載（帰化等）",
    ChangeReason.EX_OFFICIO_ENTRY_NATIONALITY_LOSS: "職権記載（国籍喪失）",
    ChangeReason.EX_OFFICIO_ENTRY: "職権記載",
    ChangeReason.REMAKE_ENTRY: "改製（記載）",
    ChangeReason.REISSUE_ENTRY: "再製（記載）",
    ChangeReason.CANCEL_INCREASE: "異動の取消し（増）",
    ChangeReason.DOMESTIC_MOVE_OUT: "国内転出",
    ChangeReason.OVERSEAS_MOVE_OUT: "国外転出",
    ChangeReason.DEATH: "死亡",
    ChangeReason.EX_OFFICIO_REMOVAL_NATURALIZATION: "職権消除（帰化等）",
    ChangeReason.EX_OFFICIO_REMOVAL_NATIONALITY_LOSS: "職権消除（国籍喪失）",
    ChangeReason.EX_OFFICIO_REMOVAL: "職権消除",
    ChangeReason.REMAKE_REMOVAL: "改製（消除）",
    ChangeReason.REISSUE_REMOVAL: "再製（消除）",
    ChangeReason.CANCEL_DECREASE: "異動の取消し（減）",
    ChangeReason.RELOCATION: "転居",
    ChangeReason.MINOR_CORRECTION: "軽微な修正",
    ChangeReason.EX_OFFICIO_CORRECTION: "職権修正",
    ChangeReason.CLERICAL_CORRECTION: "誤記修正",
    ChangeReason.MY_NUMBER_CHANGE_REQUEST: "個人番号の変更請求",
    ChangeReason.MY_NUMBER_EX_OFFICIO_CORRECTION: "個人番号の職権修正",
    ChangeReason.MY_NUMBER_EX_OFFICIO_ENTRY: "個人番号の職権記載",
    ChangeReason.JUMINHYO_CODE_CHANGE_REQUEST: "住民票コードの変更請求",
    ChangeReason.JUMINHYO_CODE_EX_OFFICIO_ENTRY: "住民票コードの職権記載",
    ChangeReason.HOUSEHOLD_SPLIT: "世帯分離",
    ChangeReason.HOUSEHOLD_MERGE: "世帯合併",
    ChangeReason.HOUSEHOLD_CHANGE: "世帯変更",
    ChangeReason.HEAD_OF_HOUSEHOLD_CHANGE: "世帯主変更",
    ChangeReason.FORMER_SURNAME_ENTRY: "旧氏の記載",
    ChangeReason.FORMER_SURNAME_CHANGE: "旧氏の変更",
    ChangeReason.FORMER_SURNAME_REMOVAL: "旧氏の削除",
    ChangeReason.ALIAS_ENTRY: "通称の記載",
    ChangeReason.ALIAS_REMOVAL: "通称の削除",
    ChangeReason.CANCEL_CORRECTION: "異動の取消し（修正）",
}

_R = ChangeReason
_BASE_CLASS: dict[ChangeReason, ReasonClass] = {
    **dict.fromkeys(
        (
            _R.DOMESTIC_MOVE_IN,
            _R.OVERSEAS_MOVE_IN,
            _R.BIRTH,
            _R.EX_OFFICIO_ENTRY_NATURALIZATION,
            _R.EX_OFFICIO_ENTRY_NATIONALITY_LOSS,
            _R.EX_OFFICIO_ENTRY,
            _R.REMAKE_ENTRY,
            _R.REISSUE_ENTRY,
            _R.CANCEL_INCREASE,
        ),
        ReasonClass.ENTRY,
    ),
    **dict.fromkeys(
        (
            _R.DOMESTIC_MOVE_OUT,
            _R.OVERSEAS_MOVE_OUT,
            _R.DEATH,
            _R.EX_OFFICIO_REMOVAL_NATURALIZATION,
            _R.EX_OFFICIO_REMOVAL_NATIONALITY_LOSS,
            _R.EX_OFFICIO_REMOVAL,
            _R.REMAKE_REMOVAL,
            _R.REISSUE_REMOVAL,
            _R.CANCEL_DECREASE,
        ),
        ReasonClass.REMOVAL,
    ),
}

#: Items that may change under each 修正 reason (File 1 item names, records.PREF_NOTIFIED_ITEMS).
#: A reason not listed here may change none of the notified items (世帯・通称 reasons touch
#: nothing File 1 holds; they are still recorded with their reason and date).
_FOUR_INFO = ("name_kanji", "name_kana", "birth_date", "sex", "address", "aza_code")
_PREF_CHANGEABLE: dict[ChangeReason, frozenset[str]] = {
    # 転居: only the address (F1-1 (d)); in a designated city a move between wards is also 転居,
    # so the ward's 市町村コード may change too (checked to stay within one city).
    _R.RELOCATION: frozenset({"address", "aza_code", "municipality_code"}),
    _R.MINOR_CORRECTION: frozenset(_FOUR_INFO),
    _R.EX_OFFICIO_CORRECTION: frozenset((*_FOUR_INFO, "former_surname_kanji", "former_surname_kana")),
    _R.CLERICAL_CORRECTION: frozenset((*_FOUR_INFO, "former_surname_kanji", "former_surname_kana")),
    _R.CANCEL_CORRECTION: frozenset((*_FOUR_INFO, "former_surname_kanji", "former_surname_kana")),
    # 個人番号 changes only through these reasons (DOMAIN §4).
    _R.MY_NUMBER_CHANGE_REQUEST: frozenset({"my_number"}),
    _R.MY_NUMBER_EX_OFFICIO_CORRECTION: frozenset({"my_number"}),
    _R.MY_NUMBER_EX_OFFICIO_ENTRY: frozenset({"my_number"}),
    # 旧氏 reasons change only the 旧氏 items.
    _R.FORMER_SURNAME_ENTRY: frozenset({"former_surname_kanji", "former_surname_kana"}),
    _R.FORMER_SURNAME_CHANGE: frozenset({"former_surname_kanji", "former_surname_kana"}),
    _R.FORMER_SURNAME_REMOVAL: frozenset({"former_surname_kanji", "former_surname_kana"}),
}

#: File 2 holds no 個人番号, household or alias items: these reasons are not accepted for it.
_FUHYO_NOT_APPLICABLE: frozenset[ChangeReason] = frozenset(
    {
        _R.MY_NUMBER_CHANGE_REQUEST,
        _R.MY_NUMBER_EX_OFFICIO_CORRECTION,
        _R.MY_NUMBER_EX_OFFICIO_ENTRY,
        _R.HOUSEHOLD_SPLIT,
        _R.HOUSEHOLD_MERGE,
        _R.HOUSEHOLD_CHANGE,
        _R.HEAD_OF_HOUSEHOLD_CHANGE,
        _R.FORMER_SURNAME_ENTRY,
        _R.FORMER_SURNAME_CHANGE,
        _R.FORMER_SURNAME_REMOVAL,
        _R.ALIAS_ENTRY,
        _R.ALIAS_REMOVAL,
    }
)

#: File 2 classifies moves as changes of a living 附票 record (see module docstring).
_FUHYO_OVERRIDES: dict[ChangeReason, ReasonClass] = {
    _R.DOMESTIC_MOVE_IN: ReasonClass.CORRECTION,
    _R.DOMESTIC_MOVE_OUT: ReasonClass.CORRECTION,
    _R.OVERSEAS_MOVE_OUT: ReasonClass.CORRECTION,
    _R.OVERSEAS_MOVE_IN: ReasonClass.CORRECTION,
}

_ADDRESS_ITEMS_FUHYO = frozenset({"address", "address_municipality_code", "last_address"})
_FUHYO_FOUR_INFO = ("name_kanji", "name_kana", "birth_date", "sex", "address", "address_municipality_code")
_FUHYO_CHANGEABLE: dict[ChangeReason, frozenset[str]] = {
    _R.RELOCATION: _ADDRESS_ITEMS_FUHYO,
    _R.DOMESTIC_MOVE_IN: _ADDRESS_ITEMS_FUHYO,
    _R.DOMESTIC_MOVE_OUT: _ADDRESS_ITEMS_FUHYO,
    _R.OVERSEAS_MOVE_OUT: _ADDRESS_ITEMS_FUHYO,
    _R.OVERSEAS_MOVE_IN: _ADDRESS_ITEMS_FUHYO,
    _R.MINOR_CORRECTION: frozenset((*_FUHYO_FOUR_INFO, "last_address")),
    _R.EX_OFFICIO_CORRECTION: frozenset((*_FUHYO_FOUR_INFO, "last_address")),
    _R.CLERICAL_CORRECTION: frozenset((*_FUHYO_FOUR_INFO, "last_address")),
    _R.CANCEL_CORRECTION: frozenset((*_FUHYO_FOUR_INFO, "last_address")),
}

#: Reasons whose only job is to change the 住民票コード (old and new stay linked, DOMAIN §2).
JUMINHYO_CODE_REASONS: frozenset[ChangeReason] = frozenset(
    {_R.JUMINHYO_CODE_CHANGE_REQUEST, _R.JUMINHYO_CODE_EX_OFFICIO_ENTRY}
)
#: The only reasons by which a 個人番号 may change (DOMAIN §4).
MY_NUMBER_REASONS: frozenset[ChangeReason] = frozenset(
    {_R.MY_NUMBER_CHANGE_REQUEST, _R.MY_NUMBER_EX_OFFICIO_CORRECTION, _R.MY_NUMBER_EX_OFFICIO_ENTRY}
)


@dataclass(frozen=True)
class ReasonRule:
    """What one reason means for one file."""

    reason: ChangeReason
    file: FileKind
    klass: ReasonClass
    changeable: frozenset[str]


def applies_to(reason: ChangeReason, file: FileKind) -> bool:
    """Whether ``reason`` can be notified for ``file`` at all."""
    return not (file is FileKind.FUHYO and reason in _FUHYO_NOT_APPLICABLE)


def rule_for(reason: ChangeReason, file: FileKind) -> ReasonRule:
    """The per-file rule of ``reason``; raises KeyError if the reason does not apply to the file."""
    if not applies_to(reason, file):
        raise KeyError(reason)
    if file is FileKind.PREF:
        klass = _BASE_CLASS.get(reason, ReasonClass.CORRECTION)
        changeable = _PREF_CHANGEABLE.get(reason, frozenset())
    else:
        klass = _FUHYO_OVERRIDES.get(reason, _BASE_CLASS.get(reason, ReasonClass.CORRECTION))
        changeable = _FUHYO_CHANGEABLE.get(reason, frozenset())
    return ReasonRule(reason=reason, file=file, klass=klass, changeable=changeable)


def parse_reason(value: str) -> ChangeReason:
    """Accept the enumeration value or the Japanese label; raise ValueError otherwise."""
    try:
        return ChangeReason(value)
    except ValueError:
        for reason, label in _LABELS.items():
            if label == value:
                return reason
        raise
