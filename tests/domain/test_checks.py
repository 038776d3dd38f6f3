"""Logical checks on update (S-39; F1-1 (d); F2-1; DOMAIN §4) and the resulting transitions.

The seed's three exact examples are the tests named *_seed_*; every other logical error code of
docs/error-codes.md has at least one test, and every reason class has a positive case in both
files. Records are built through parse_notification so they carry the same normalised types as the
ledger's PersonState.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juki.domain.checks import PersonState, Transition, check_notification, is_present, transition
from juki.domain.errors import Rejection
from juki.domain.notification import Notification, parse_notification
from juki.domain.records import EndKind, FileKind, FuhyoStatus, RecordStatus
from tests.factories import (
    CHIYODA,
    KAMAKURA,
    KANAGAWA_KU,
    KAWASAKI_KU,
    TSURUMI,
    address_in,
    base_fuhyo_record,
    jcode,
    mynum,
)
from tests.factories import base_pref_record as pref_record

CODE = jcode("1234567890")
NEW_CODE = jcode("2234567890")
OTHER_CODE = jcode("3234567890")
OTHER_MY_NUMBER = mynum("98765432109")
RECEIVED = date(2026, 11, 2)


def fuhyo_record(**over: str) -> dict[str, str]:
    """A 附票 whose person lives outside Kanagawa (the 附票 follows the 本籍, not the address)."""
    return base_fuhyo_record(
        **{"address_municipality_code": CHIYODA, "address": "東京都千代田区千代田1番1号", **over}
    )


ABROAD = {
    "address_municipality_code": "",
    "address": "アメリカ合衆国",
    "last_address": "東京都千代田区千代田1番1号",
}


def make(
    file: str = "pref",
    reason: str = "relocation",
    record: Any = "default",
    sender: str = KAMAKURA,
    **over: Any,
) -> Notification:
    """A parsed notification; File 1 records default to the sender as 市町村コード."""
    if record == "default":
        record = pref_record(municipality_code=sender) if file == "pref" else fuhyo_record()
    obj: dict[str, Any] = {
        "file": file,
        "municipality_code": sender,
        "notification_id": "n-1",
        "reason": reason,
        "change_date": "2026-11-01",
        "juminhyo_code": CODE,
    }
    if record is not None:
        obj["record"] = record
    obj.update(over)
    return parse_notification(obj)


def parsed_record(file: str, raw: dict[str, str]) -> Mapping[str, object]:
    n = make(file, "birth" if file == "fuhyo" else "domestic_move_in", raw, sender=KAMAKURA)
    assert n.record is not None
    return n.record


def pref_state(
    status: RecordStatus = RecordStatus.PRESENT,
    end_kind: EndKind | None = None,
    municipality: str = KAMAKURA,
    **over: str,
) -> PersonState:
    rec = parsed_record("pref", pref_record(municipality_code=municipality, **over))
    return PersonState(status.value, end_kind, municipality, rec)


def fuhyo_state(
    status: FuhyoStatus = FuhyoStatus.DOMESTIC,
    end_kind: EndKind | None = None,
    municipality: str = KAMAKURA,
    **over: str,
) -> PersonState:
    return PersonState(status.value, end_kind, municipality, parsed_record("fuhyo", fuhyo_record(**over)))


def abroad_state() -> PersonState:
    """A 国外転出者 in File 2."""
    rec = parsed_record("fuhyo", fuhyo_record(**ABROAD))
    return PersonState(FuhyoStatus.ABROAD.value, None, KAMAKURA, rec)


def former_state() -> PersonState:
    """A File 1 person with a 旧氏 recorded."""
    return pref_state(former_surname_kanji="田中", former_surname_kana="タナカ")


def rejected(n: Notification, current: PersonState | None, **kwargs: Any) -> str:
    with pytest.raises(Rejection) as info:
        check_notification(n, current, received_on=RECEIVED, **kwargs)
    return info.value.code


def accepted(n: Notification, current: PersonState | None, **kwargs: Any) -> Transition:
    check_notification(n, current, received_on=RECEIVED, **kwargs)
    return transition(n, current)


# ---------------------------------------------------------------------------------------------
# The seed's three examples (S-39)
# ---------------------------------------------------------------------------------------------


def test_S39_F1_1_d_seed_move_in_for_present_person_is_E_ENTRY_PERSON_PRESENT() -> None:
    """L1629–1630: 転入 for a person who currently exists is an error."""
    assert rejected(make(reason="domestic_move_in"), pref_state()) == "E_ENTRY_PERSON_PRESENT"


def test_S39_F1_1_d_seed_relocation_changing_name_is_E_RELOCATION_NON_ADDRESS() -> None:
    """L1630–1631: 転居 that updates an item other than the 住所 is an error."""
    n = make(record=pref_record(municipality_code=KAMAKURA, name_kanji="山田　次郎", address="鎌倉市2番"))
    assert rejected(n, pref_state()) == "E_RELOCATION_NON_ADDRESS"


def test_S39_F2_1_seed_removal_of_removed_person_is_E_ALREADY_ENDED() -> None:
    """L2525–2526: 消除 for a person already 消除 is an error."""
    n = make("fuhyo", "ex_officio_removal", record=None)
    assert rejected(n, fuhyo_state(FuhyoStatus.ENDED, EndKind.REMOVED)) == "E_ALREADY_ENDED"


# ---------------------------------------------------------------------------------------------
# Person state (DOMAIN §4 derived rules)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["birth", "overseas_move_in", "ex_officio_entry", "remake_entry"])
def test_S39_every_entry_reason_for_present_person_is_E_ENTRY_PERSON_PRESENT(reason: str) -> None:
    assert rejected(make(reason=reason, change_date="1985-03-04"), pref_state()) == "E_ENTRY_PERSON_PRESENT"


@pytest.mark.parametrize("status", [FuhyoStatus.DOMESTIC, FuhyoStatus.ABROAD])
def test_S39_F2_1_entry_for_person_in_fuhyo_is_E_ENTRY_PERSON_PRESENT(status: FuhyoStatus) -> None:
    """A 国外転出者 is still in the 附票: 'present' means domestic or abroad."""
    n = make("fuhyo", "ex_officio_entry")
    assert rejected(n, fuhyo_state(status)) == "E_ENTRY_PERSON_PRESENT"


@pytest.mark.parametrize(("reason", "record"), [("relocation", "default"), ("domestic_move_out", None)])
def test_S39_correction_or_removal_of_unknown_person_is_E_PERSON_NOT_FOUND(reason: str, record: Any) -> None:
    assert rejected(make(reason=reason, record=record), None) == "E_PERSON_NOT_FOUND"


def test_S39_cancel_increase_of_unknown_person_is_E_PERSON_NOT_FOUND() -> None:
    """異動の取消し（増） brings back a wrongly ended record: there must be one."""
    assert rejected(make(reason="cancel_increase"), None) == "E_PERSON_NOT_FOUND"


def test_S39_F1_1_correction_of_ended_person_is_E_ALREADY_ENDED() -> None:
    state = pref_state(RecordStatus.ENDED, EndKind.REMOVED)
    n = make(record=pref_record(municipality_code=KAMAKURA, address="鎌倉市2番"))
    assert rejected(n, state) == "E_ALREADY_ENDED"
    assert rejected(make(reason="domestic_move_out", record=None), state) == "E_ALREADY_ENDED"


@pytest.mark.parametrize(
    ("reason", "record"),
    [
        ("relocation", "default"),
        ("death", None),
        ("domestic_move_in", "default"),
        ("ex_officio_removal", None),
    ],
)
def test_S39_anything_after_death_is_E_DECEASED(reason: str, record: Any) -> None:
    """DOMAIN §4: 死亡 is final."""
    assert (
        rejected(make(reason=reason, record=record), pref_state(RecordStatus.ENDED, EndKind.DEATH))
        == "E_DECEASED"
    )
    fuhyo_rec = "default" if record is not None else None
    state = fuhyo_state(FuhyoStatus.ENDED, EndKind.DEATH)
    assert rejected(make("fuhyo", reason, record=fuhyo_rec), state) == "E_DECEASED"


def test_S39_cancel_increase_after_death_is_accepted() -> None:
    """異動の取消し（増） is the only way to undo a wrongly registered death."""
    t = accepted(make(reason="cancel_increase"), pref_state(RecordStatus.ENDED, EndKind.DEATH))
    assert t.status == RecordStatus.PRESENT and t.end_kind is None


def test_S39_notification_to_superseded_code_is_E_JUMINHYO_CODE_SUPERSEDED() -> None:
    """Codes are never reused (DOMAIN §2): a replaced code takes no notification, not even a 記載."""
    state = pref_state(RecordStatus.ENDED, EndKind.CODE_CHANGED)
    assert rejected(make(reason="domestic_move_in"), state) == "E_JUMINHYO_CODE_SUPERSEDED"
    assert rejected(make(reason="death", record=None), state) == "E_JUMINHYO_CODE_SUPERSEDED"


def test_S39_entry_after_removal_is_accepted() -> None:
    """Moving back: an ended (not deceased) person may be recorded again."""
    t = accepted(make(reason="domestic_move_in"), pref_state(RecordStatus.ENDED, EndKind.REMOVED, TSURUMI))
    assert t.status == RecordStatus.PRESENT


# ---------------------------------------------------------------------------------------------
# Municipality
# ---------------------------------------------------------------------------------------------


def test_S39_correction_by_another_municipality_is_E_OTHER_MUNICIPALITY() -> None:
    n = make(
        reason="minor_correction", record=pref_record(municipality_code=KAMAKURA, name_kanji="山田　太朗")
    )
    assert rejected(n, pref_state(municipality=TSURUMI)) == "E_OTHER_MUNICIPALITY"
    assert (
        rejected(make(reason="death", record=None), pref_state(municipality=TSURUMI))
        == "E_OTHER_MUNICIPALITY"
    )


def test_S39_entry_into_another_municipality_is_E_OTHER_MUNICIPALITY() -> None:
    """A 記載 registers the person in the sender's municipality only."""
    n = make(reason="domestic_move_in", record=pref_record(municipality_code=TSURUMI))
    assert rejected(n, None) == "E_OTHER_MUNICIPALITY"


def test_S39_F2_1_correction_by_non_managing_municipality_is_E_OTHER_MUNICIPALITY() -> None:
    n = make("fuhyo", "relocation", fuhyo_record(address="東京都千代田区千代田2番"))
    assert rejected(n, fuhyo_state(municipality=TSURUMI)) == "E_OTHER_MUNICIPALITY"


def test_S39_relocation_between_wards_of_one_city_is_accepted_from_the_new_ward() -> None:
    rec = pref_record(municipality_code=KANAGAWA_KU, address="横浜市神奈川区1番", aza_code="0002001")
    t = accepted(make(record=rec, sender=KANAGAWA_KU), pref_state(municipality=TSURUMI))
    assert t.record["municipality_code"] == KANAGAWA_KU


def test_S39_relocation_sent_by_the_old_ward_is_E_OTHER_MUNICIPALITY() -> None:
    rec = pref_record(municipality_code=KANAGAWA_KU, address="横浜市神奈川区1番")
    assert (
        rejected(make(record=rec, sender=TSURUMI), pref_state(municipality=TSURUMI)) == "E_OTHER_MUNICIPALITY"
    )


@pytest.mark.parametrize(("old", "new"), [(TSURUMI, KAWASAKI_KU), (KAMAKURA, TSURUMI), (TSURUMI, KAMAKURA)])
def test_S39_relocation_into_another_city_is_E_RELOCATION_OTHER_CITY(old: str, new: str) -> None:
    """Moving to another city is 転出/転入, never 転居."""
    rec = pref_record(municipality_code=new, address=address_in(new, "どこか1番"))
    assert rejected(make(record=rec, sender=new), pref_state(municipality=old)) == "E_RELOCATION_OTHER_CITY"


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change_date", ["2026-11-03", "2026-12", "2027", "2027年1月上旬", "2026年11月下旬"])
def test_S39_change_date_after_receipt_is_E_CHANGE_DATE_FUTURE(change_date: str) -> None:
    n = make(record=pref_record(municipality_code=KAMAKURA, address="鎌倉市2番"), change_date=change_date)
    assert rejected(n, pref_state()) == "E_CHANGE_DATE_FUTURE"


@pytest.mark.parametrize("change_date", ["2026-11-02", "2026-11", "2026", "不詳", "2026年11月上旬"])
def test_S39_change_date_that_may_be_on_or_before_receipt_is_accepted(change_date: str) -> None:
    n = make(record=pref_record(municipality_code=KAMAKURA, address="鎌倉市2番"), change_date=change_date)
    accepted(n, pref_state())


def test_S39_change_date_before_birth_is_E_CHANGE_DATE_BEFORE_BIRTH() -> None:
    n = make(record=pref_record(municipality_code=KAMAKURA, address="鎌倉市2番"), change_date="1985-03-03")
    assert rejected(n, pref_state()) == "E_CHANGE_DATE_BEFORE_BIRTH"
    # a 消除 without a record compares with the current record's birth date
    assert rejected(make(reason="death", record=None, change_date="1980-01-01"), pref_state()) == (
        "E_CHANGE_DATE_BEFORE_BIRTH"
    )


def test_S39_partial_birth_date_is_not_compared() -> None:
    """不詳 or partial dates cannot be ordered reliably against a day."""
    rec = pref_record(municipality_code=KAMAKURA, birth_date="1985年不詳")
    accepted(make(reason="domestic_move_in", record=rec, change_date="1985-01-01"), None)


def test_S39_birth_whose_change_date_is_not_the_birth_date_is_E_BIRTH_DATE_MISMATCH() -> None:
    n = make(
        reason="birth",
        change_date="2026-10-01",
        record=pref_record(municipality_code=KAMAKURA, birth_date="2026-10-02"),
    )
    assert rejected(n, None) == "E_BIRTH_DATE_MISMATCH"
    n = make("fuhyo", "birth", change_date="2026-10-01", record=fuhyo_record(birth_date="2026-09-30"))
    assert rejected(n, None) == "E_BIRTH_DATE_MISMATCH"


def test_birth_date_written_in_wareki_matches_iso_change_date() -> None:
    n = make(
        reason="birth",
        change_date="2026-10-01",
        record=pref_record(municipality_code=KAMAKURA, birth_date="令和8年10月1日"),
    )
    assert accepted(n, None).status == RecordStatus.PRESENT


# ---------------------------------------------------------------------------------------------
# Items (修正)
# ---------------------------------------------------------------------------------------------


def test_S39_minor_correction_changing_former_surname_is_E_ITEMS_NOT_CHANGEABLE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, former_surname_kanji="田中", former_surname_kana="タナカ")
    assert rejected(make(reason="minor_correction", record=rec), pref_state()) == "E_ITEMS_NOT_CHANGEABLE"


def test_S39_removal_with_a_differing_record_is_E_ITEMS_NOT_CHANGEABLE() -> None:
    """Nothing a municipality sends is silently dropped: a 消除 cannot carry a change."""
    rec = pref_record(municipality_code=KAMAKURA, address="鎌倉市9番")
    assert rejected(make(reason="domestic_move_out", record=rec), pref_state()) == "E_ITEMS_NOT_CHANGEABLE"
    same = accepted(
        make(reason="domestic_move_out", record=pref_record(municipality_code=KAMAKURA)), pref_state()
    )
    assert same.status == RecordStatus.ENDED


def test_S39_household_reason_with_a_changed_record_is_E_ITEMS_NOT_CHANGEABLE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, address="鎌倉市9番")
    assert rejected(make(reason="household_split", record=rec), pref_state()) == "E_ITEMS_NOT_CHANGEABLE"


def test_S39_my_number_change_under_other_reason_is_E_MY_NUMBER_CHANGE_REASON() -> None:
    """DOMAIN §4: a 個人番号 change reason is the only way the 個人番号 changes (checked first)."""
    rec = pref_record(municipality_code=KAMAKURA, my_number=OTHER_MY_NUMBER, address="鎌倉市2番")
    assert rejected(make(reason="relocation", record=rec), pref_state()) == "E_MY_NUMBER_CHANGE_REASON"
    rec = pref_record(municipality_code=KAMAKURA, my_number=OTHER_MY_NUMBER)
    assert (
        rejected(make(reason="ex_officio_correction", record=rec), pref_state())
        == "E_MY_NUMBER_CHANGE_REASON"
    )


def test_S39_my_number_reason_without_change_is_E_MY_NUMBER_UNCHANGED() -> None:
    assert rejected(make(reason="my_number_change_request"), pref_state()) == "E_MY_NUMBER_UNCHANGED"


def test_S39_my_number_reason_changing_another_item_is_E_ITEMS_NOT_CHANGEABLE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, my_number=OTHER_MY_NUMBER, address="鎌倉市2番")
    assert (
        rejected(make(reason="my_number_change_request", record=rec), pref_state())
        == "E_ITEMS_NOT_CHANGEABLE"
    )


def test_S39_my_number_of_another_person_is_E_MY_NUMBER_IN_USE() -> None:
    n = make(reason="domestic_move_in")
    assert rejected(n, None, my_number_owner=OTHER_CODE) == "E_MY_NUMBER_IN_USE"
    rec = pref_record(municipality_code=KAMAKURA, my_number=OTHER_MY_NUMBER)
    n = make(reason="my_number_ex_officio_correction", record=rec)
    assert rejected(n, pref_state(), my_number_owner=OTHER_CODE) == "E_MY_NUMBER_IN_USE"
    accepted(make(reason="domestic_move_in"), None, my_number_owner=CODE)  # the person's own number


@pytest.mark.parametrize(
    "reason", ["relocation", "minor_correction", "clerical_correction", "cancel_correction"]
)
def test_S39_correction_that_changes_nothing_is_E_NO_CHANGE(reason: str) -> None:
    assert rejected(make(reason=reason), pref_state()) == "E_NO_CHANGE"


def test_S39_F2_1_relocation_changing_name_is_E_RELOCATION_NON_ADDRESS() -> None:
    rec = fuhyo_record(name_kana="ヤマダ　ハナ", address="東京都千代田区千代田2番")
    assert rejected(make("fuhyo", "relocation", rec), fuhyo_state()) == "E_RELOCATION_NON_ADDRESS"


# ---------------------------------------------------------------------------------------------
# 住民票コード change
# ---------------------------------------------------------------------------------------------


def code_change(new: str = NEW_CODE, record: Any = None, file: str = "pref") -> Notification:
    return make(file, "juminhyo_code_change_request", record=record, new_juminhyo_code=new)


def test_S39_new_code_equal_to_old_is_E_JUMINHYO_CODE_SAME() -> None:
    assert rejected(code_change(CODE), pref_state()) == "E_JUMINHYO_CODE_SAME"


def test_S39_new_code_existing_is_E_JUMINHYO_CODE_IN_USE() -> None:
    """Codes are never reused, including 消除者 and history (DOMAIN §2)."""
    assert rejected(code_change(), pref_state(), new_code_exists=True) == "E_JUMINHYO_CODE_IN_USE"


def test_S39_code_change_changing_an_item_is_E_ITEMS_NOT_CHANGEABLE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, address="鎌倉市2番")
    assert rejected(code_change(record=rec), pref_state()) == "E_ITEMS_NOT_CHANGEABLE"


def test_code_change_transition_ends_the_old_code() -> None:
    state = pref_state()
    t = accepted(code_change(), state)
    assert t.ends_old_code and t.status == RecordStatus.PRESENT and t.record == state.record
    t = accepted(code_change(record=pref_record(municipality_code=KAMAKURA)), state)
    assert t.ends_old_code
    fstate = abroad_state()
    t = accepted(code_change(file="fuhyo"), fstate)
    assert t.ends_old_code and t.status == FuhyoStatus.ABROAD


# ---------------------------------------------------------------------------------------------
# 旧氏
# ---------------------------------------------------------------------------------------------

WITH_FORMER = {"former_surname_kanji": "田中", "former_surname_kana": "タナカ"}


def test_S39_former_surname_entry_when_one_exists_is_E_FORMER_SURNAME_STATE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, former_surname_kanji="佐藤", former_surname_kana="サトウ")
    assert rejected(make(reason="former_surname_entry", record=rec), former_state()) == (
        "E_FORMER_SURNAME_STATE"
    )


def test_S39_former_surname_change_or_removal_when_none_is_E_FORMER_SURNAME_STATE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, **WITH_FORMER)
    assert (
        rejected(make(reason="former_surname_change", record=rec), pref_state()) == "E_FORMER_SURNAME_STATE"
    )
    assert rejected(make(reason="former_surname_removal"), pref_state()) == "E_FORMER_SURNAME_STATE"


def test_S39_former_surname_kanji_without_kana_is_E_FORMER_SURNAME_STATE() -> None:
    rec = pref_record(municipality_code=KAMAKURA, former_surname_kanji="田中")
    assert rejected(make(reason="domestic_move_in", record=rec), None) == "E_FORMER_SURNAME_STATE"


def test_former_surname_reasons_accepted_in_the_right_state() -> None:
    rec = pref_record(municipality_code=KAMAKURA, **WITH_FORMER)
    assert (
        accepted(make(reason="former_surname_entry", record=rec), pref_state()).record["former_surname_kanji"]
        == "田中"
    )
    rec2 = pref_record(municipality_code=KAMAKURA, former_surname_kanji="佐藤", former_surname_kana="サトウ")
    accepted(make(reason="former_surname_change", record=rec2), former_state())
    t = accepted(make(reason="former_surname_removal"), former_state())
    assert t.record["former_surname_kanji"] == ""


# ---------------------------------------------------------------------------------------------
# File 2: 国外転出者
# ---------------------------------------------------------------------------------------------


def test_S39_F2_1_overseas_move_out_when_abroad_is_E_ABROAD_STATE() -> None:
    n = make("fuhyo", "overseas_move_out", fuhyo_record(**{**ABROAD, "address": "フランス"}))
    assert rejected(n, abroad_state()) == "E_ABROAD_STATE"


def test_S39_F2_1_overseas_move_out_with_domestic_record_is_E_ABROAD_STATE() -> None:
    n = make("fuhyo", "overseas_move_out", fuhyo_record(address="東京都千代田区千代田2番"))
    assert rejected(n, fuhyo_state()) == "E_ABROAD_STATE"


def test_S39_F2_1_overseas_move_in_when_domestic_is_E_ABROAD_STATE() -> None:
    n = make("fuhyo", "overseas_move_in", fuhyo_record(address="東京都千代田区千代田2番"))
    assert rejected(n, fuhyo_state()) == "E_ABROAD_STATE"


def test_S39_F2_1_overseas_move_in_keeping_abroad_record_is_E_ABROAD_STATE() -> None:
    n = make("fuhyo", "overseas_move_in", fuhyo_record(**{**ABROAD, "address": "フランス"}))
    assert rejected(n, abroad_state()) == "E_ABROAD_STATE"


def test_S39_F2_1_domestic_move_out_when_abroad_is_E_ABROAD_STATE() -> None:
    n = make("fuhyo", "domestic_move_out", fuhyo_record())
    assert rejected(n, abroad_state()) == "E_ABROAD_STATE"


def test_S39_F2_1_relocation_turning_abroad_is_E_ABROAD_STATE() -> None:
    """Becoming a 国外転出者 happens only by 国外転出."""
    n = make("fuhyo", "relocation", fuhyo_record(**ABROAD))
    assert rejected(n, fuhyo_state()) == "E_ABROAD_STATE"


def test_F2_1_overseas_move_out_and_back_transitions() -> None:
    t = accepted(make("fuhyo", "overseas_move_out", fuhyo_record(**ABROAD)), fuhyo_state())
    assert t.status == FuhyoStatus.ABROAD and t.end_kind is None
    back = fuhyo_record(address_municipality_code=TSURUMI, address="横浜市鶴見区1番")
    away = abroad_state()
    assert accepted(make("fuhyo", "overseas_move_in", back), away).status == FuhyoStatus.DOMESTIC
    assert accepted(make("fuhyo", "domestic_move_in", back), away).status == FuhyoStatus.DOMESTIC


def test_F2_1_domestic_moves_and_relocation_are_corrections() -> None:
    moved = fuhyo_record(address_municipality_code=TSURUMI, address="横浜市鶴見区1番")
    for reason in ("domestic_move_out", "domestic_move_in", "relocation"):
        t = accepted(make("fuhyo", reason, moved), fuhyo_state())
        assert t.status == FuhyoStatus.DOMESTIC and t.record["address_municipality_code"] == TSURUMI


# ---------------------------------------------------------------------------------------------
# Positive cases per reason class, both files, and transitions
# ---------------------------------------------------------------------------------------------


def test_F1_1_entry_by_birth() -> None:
    rec = pref_record(municipality_code=KAMAKURA, birth_date="2026-10-01")
    t = accepted(make(reason="birth", change_date="2026-10-01", record=rec), None)
    assert t == Transition(RecordStatus.PRESENT.value, None, t.record, ends_old_code=False)
    assert t.record["address"] == rec["address"]


def test_F1_1_correction_relocation_within_municipality() -> None:
    rec = pref_record(municipality_code=KAMAKURA, address="鎌倉市2番", aza_code="")
    t = accepted(make(record=rec), pref_state())
    assert t.status == RecordStatus.PRESENT and t.record["address"] == "鎌倉市2番" and not t.ends_old_code


def test_F1_1_correction_name_change_by_ex_officio_correction() -> None:
    rec = pref_record(municipality_code=KAMAKURA, name_kanji="鈴木　太郎", name_kana="スズキ　タロウ")
    assert (
        accepted(make(reason="ex_officio_correction", record=rec), pref_state()).record["name_kanji"]
        == "鈴木　太郎"
    )


def test_F1_1_correction_my_number_change() -> None:
    rec = pref_record(municipality_code=KAMAKURA, my_number=OTHER_MY_NUMBER)
    t = accepted(make(reason="my_number_change_request", record=rec), pref_state(), my_number_owner=None)
    assert t.record["my_number"] == OTHER_MY_NUMBER


def test_F1_1_household_reason_without_record_keeps_the_record() -> None:
    state = pref_state()
    t = accepted(make(reason="head_of_household_change", record=None), state)
    assert t.record is state.record and t.status == RecordStatus.PRESENT


@pytest.mark.parametrize(
    ("reason", "end_kind"), [("death", EndKind.DEATH), ("domestic_move_out", EndKind.REMOVED)]
)
def test_F1_1_removal(reason: str, end_kind: EndKind) -> None:
    state = pref_state()
    t = accepted(make(reason=reason, record=None), state)
    assert t == Transition(RecordStatus.ENDED.value, end_kind, state.record, ends_old_code=False)


def test_F2_1_entry_domestic_and_abroad() -> None:
    assert accepted(make("fuhyo", "birth", change_date="1985-03-04"), None).status == FuhyoStatus.DOMESTIC
    t = accepted(make("fuhyo", "ex_officio_entry", fuhyo_record(**ABROAD)), None)
    assert t.status == FuhyoStatus.ABROAD


def test_F2_1_entry_after_removal_by_another_municipality() -> None:
    """転籍 back: the 附票 of an ended person may be recorded again by the new 本籍地."""
    state = fuhyo_state(FuhyoStatus.ENDED, EndKind.REMOVED, municipality=TSURUMI)
    assert accepted(make("fuhyo", "ex_officio_entry"), state).status == FuhyoStatus.DOMESTIC


def test_F2_1_correction_of_abroad_person_keeps_abroad() -> None:
    rec = fuhyo_record(**{**ABROAD, "name_kanji": "山田　華子"})
    t = accepted(make("fuhyo", "clerical_correction", rec), abroad_state())
    assert t.status == FuhyoStatus.ABROAD


@pytest.mark.parametrize(
    ("reason", "end_kind"), [("death", EndKind.DEATH), ("ex_officio_removal", EndKind.REMOVED)]
)
def test_F2_1_removal(reason: str, end_kind: EndKind) -> None:
    state = abroad_state()
    t = accepted(make("fuhyo", reason, record=None), state)
    assert t == Transition(FuhyoStatus.ENDED.value, end_kind, state.record, ends_old_code=False)


def test_is_present() -> None:
    assert is_present(FileKind.PREF, "present") and not is_present(FileKind.PREF, "ended")
    assert is_present(FileKind.FUHYO, "abroad") and is_present(FileKind.FUHYO, "domestic")
    assert not is_present(FileKind.FUHYO, "ended")
    with pytest.raises(ValueError):
        is_present(FileKind.PREF, "domestic")


def test_transition_of_correction_without_current_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        transition(make(), None)


# ---------------------------------------------------------------------------------------------
# Property: 転居 may change the address and nothing else (F1-1 (d))
# ---------------------------------------------------------------------------------------------

_KANJI = st.sampled_from("山田川本佐藤鈴木高橋田中伊渡辺中村小林加藤吉\ufa19\u9089")
_KANA = st.sampled_from(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
)
_ADDR = st.text(alphabet="鎌倉市雪ノ下一二三丁目番地号0123456789-", min_size=3, max_size=40)
_YOKOHAMA_WARDS = ["141011", "141020", "141038", "141046", "141186"]


@st.composite
def _person(draw: st.DrawFn) -> dict[str, str]:
    family = draw(st.text(_KANJI, min_size=1, max_size=3))
    given = draw(st.text(_KANJI, min_size=1, max_size=3))
    kana_f = draw(st.text(_KANA, min_size=1, max_size=6))
    kana_g = draw(st.text(_KANA, min_size=1, max_size=6))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 10, 31)))
    ward = draw(st.sampled_from(_YOKOHAMA_WARDS))
    return pref_record(
        name_kanji=f"{family}　{given}",
        name_kana=f"{kana_f}　{kana_g}",
        birth_date=birth.isoformat(),
        sex=draw(st.sampled_from(["1", "2"])),
        address=address_in(ward, draw(_ADDR)),
        municipality_code=ward,
        aza_code=draw(st.sampled_from(["", "0001001", "1234567"])),
        my_number=mynum(draw(st.from_regex(r"[0-9]{11}", fullmatch=True))),
    )


@settings(max_examples=150, deadline=None)
@given(
    person=_person(),
    new_address=_ADDR,
    new_ward=st.sampled_from(_YOKOHAMA_WARDS),
    extra=st.sampled_from(["", "name_kanji", "name_kana", "birth_date", "sex", "former_surname"]),
)
def test_F1_1_d_property_relocation_accepts_address_changes_only(
    person: dict[str, str], new_address: str, new_ward: str, extra: str
) -> None:
    old_ward = person["municipality_code"]
    state = PersonState("present", None, old_ward, parsed_record("pref", person))
    moved = {**person, "address": address_in(new_ward, new_address + "1"), "municipality_code": new_ward}
    if extra == "name_kanji":
        moved["name_kanji"] = person["name_kanji"] + "子"
    elif extra == "name_kana":
        moved["name_kana"] = person["name_kana"] + "コ"
    elif extra == "birth_date":
        moved["birth_date"] = "1899-12-31"
    elif extra == "sex":
        moved["sex"] = "2" if person["sex"] == "1" else "1"
    elif extra == "former_surname":
        moved.update(WITH_FORMER)
    n = make(record=moved, sender=new_ward)
    changed = moved["address"] != person["address"] or new_ward != old_ward
    if extra:
        assert rejected(n, state) == "E_RELOCATION_NON_ADDRESS"
    elif changed:
        t = accepted(n, state)
        assert t.record["address"] == moved["address"] and t.record["municipality_code"] == new_ward
        assert {k: v for k, v in t.record.items() if k not in ("address", "municipality_code")} == {
            k: v for k, v in state.record.items() if k not in ("address", "municipality_code")
        }
    else:
        assert rejected(n, state) == "E_NO_CHANGE"


# ---------------------------------------------------------------------------------------------
# Hardening issue, item 14: a 記載 on an ended 住民票コード brings back the same person
# ---------------------------------------------------------------------------------------------

ENDED = {"status": RecordStatus.ENDED, "end_kind": EndKind.REMOVED}


def test_hardening_14_S39_move_in_for_an_ended_person_may_not_change_the_my_number() -> None:
    n = make(
        "pref", "domestic_move_in", pref_record(municipality_code=KAMAKURA, my_number=mynum("98765432101"))
    )
    assert rejected(n, pref_state(**ENDED)) == "E_MY_NUMBER_CHANGE_REASON"


@pytest.mark.parametrize("over", [{"birth_date": "1990-01-01"}, {"sex": "2"}])
@pytest.mark.parametrize("reason", ["domestic_move_in", "cancel_increase"])
def test_hardening_14_S39_entry_for_an_ended_person_may_not_become_another_person(
    reason: str, over: dict[str, str]
) -> None:
    n = make("pref", reason, pref_record(municipality_code=KAMAKURA, **over))
    assert rejected(n, pref_state(**ENDED)) == "E_REENTRY_IDENTITY"


def test_hardening_14_S39_fuhyo_entry_for_an_ended_person_keeps_birth_date_and_sex() -> None:
    n = make("fuhyo", "cancel_increase", fuhyo_record(birth_date="1990-01-01"))
    assert rejected(n, fuhyo_state(FuhyoStatus.ENDED, EndKind.REMOVED)) == "E_REENTRY_IDENTITY"


def test_hardening_14_S39_the_same_person_returns_even_under_a_new_name() -> None:
    """A name may change while the person lives elsewhere (marriage): that is not another person."""
    n = make("pref", "domestic_move_in", pref_record(municipality_code=KAMAKURA, name_kanji="鈴木　花子"))
    t = accepted(n, pref_state(**ENDED))
    assert t.status == RecordStatus.PRESENT.value
