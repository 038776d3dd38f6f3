"""Parsing one municipal notification (F1-1, F2-1, S-38, S-40) and the error catalog.

Every parse-level error code of docs/error-codes.md has a test here; the logical checks are in
test_checks.py. Test records use codes with computed check digits, never invented numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from juki.domain.codes import CheckDigitMode
from juki.domain.dates import JukiDate
from juki.domain.errors import CATALOG, ErrorSpec, Rejection
from juki.domain.notification import MAX_ADDRESS_LENGTH, MAX_NAME_LENGTH, Notification, parse_notification
from juki.domain.reasons import ChangeReason
from juki.domain.records import FUHYO_NOTIFIED_ITEMS, PREF_NOTIFIED_ITEMS, FileKind
from tests.factories import CHIYODA, MY_NUMBER, TSURUMI, YOKOHAMA, base_fuhyo_record, jcode
from tests.factories import base_pref_record as pref_record

DRAFT = Path(__file__).resolve().parents[2] / "docs" / "error-codes.md"


CODE = jcode("1234567890")
NEW_CODE = jcode("2234567890")
BAD_CHECK_CODE = CODE[:10] + str((int(CODE[10]) + 1) % 10)


def fuhyo_record(**over: str) -> dict[str, str]:
    """A 附票 sent with a hiragana reading and a 和暦 date, as municipalities may send them."""
    return base_fuhyo_record(**{"name_kana": "やまだ　はなこ", "birth_date": "昭和60年3月4日", **over})


def notif(
    file: str = "pref", reason: str = "domestic_move_in", record: Any = "default", **over: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "file": file,
        "municipality_code": TSURUMI,
        "notification_id": f"{TSURUMI}-0000000001",
        "reason": reason,
        "change_date": "2026-11-01",
        "juminhyo_code": CODE,
    }
    if record == "default":
        record = pref_record() if file == "pref" else fuhyo_record()
    if record is not None:
        obj["record"] = record
    obj.update(over)
    return obj


def rejected(obj: object, **kwargs: Any) -> Rejection:
    with pytest.raises(Rejection) as info:
        parse_notification(obj, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------


def test_catalog_matches_the_draft_document_both_ways() -> None:
    documented = set(re.findall(r"\b[EW]_[A-Z0-9_]+\b", DRAFT.read_text(encoding="utf-8")))
    assert documented == set(CATALOG)


def test_catalog_entries_have_both_messages() -> None:
    for code, spec in CATALOG.items():
        assert isinstance(spec, ErrorSpec)
        assert spec.code == code
        assert spec.message_ja and spec.message_en
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", spec.message_ja), code  # Japanese for operators


def test_rejection_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        Rejection("E_NO_SUCH_CODE")


def test_rejection_to_dict_and_detail_in_message() -> None:
    r = Rejection("E_ITEM_MISSING", "name_kana")
    assert r.to_dict() == {"code": "E_ITEM_MISSING", "message": r.message, "detail": "name_kana"}
    assert r.message.startswith(CATALOG["E_ITEM_MISSING"].message_ja)
    assert "name_kana" in r.message and "name_kana" in r.message_en
    plain = Rejection("E_JSON")
    assert plain.message == CATALOG["E_JSON"].message_ja and plain.detail is None
    assert "E_JSON" in str(plain)


# ---------------------------------------------------------------------------------------------
# Positive cases
# ---------------------------------------------------------------------------------------------


def test_F1_1_pref_entry_is_parsed_with_normalised_types() -> None:
    n = parse_notification(notif(), expected_file=FileKind.PREF)
    assert isinstance(n, Notification)
    assert n.file is FileKind.PREF and n.reason is ChangeReason.DOMESTIC_MOVE_IN
    assert n.municipality_code == TSURUMI and n.juminhyo_code == CODE and n.new_juminhyo_code is None
    assert n.change_date == JukiDate(2026, 11, 1)
    assert n.record is not None
    assert set(n.record) == set(PREF_NOTIFIED_ITEMS)
    assert n.record["birth_date"] == JukiDate(1985, 3, 4)
    assert n.record["my_number"] == MY_NUMBER
    assert n.warnings == ()


def test_F2_1_fuhyo_entry_is_parsed() -> None:
    n = parse_notification(notif("fuhyo", "birth"), expected_file=FileKind.FUHYO)
    assert n.record is not None and set(n.record) == set(FUHYO_NOTIFIED_ITEMS)
    assert n.record["birth_date"] == JukiDate(1985, 3, 4)
    birth = n.record["birth_date"]
    assert isinstance(birth, JukiDate) and birth.text == "昭和60年3月4日"


def test_names_and_addresses_are_never_unicode_normalised() -> None:
    """DOMAIN §6: U+FA19 (神, compatibility ideograph) and IVS sequences must survive unchanged."""
    name = "\ufa19田　太郎"
    address = "神奈川県横浜市鶴見区\u8fbb\U000e0100町一丁目1番"  # 辻 + IVS selector
    n = parse_notification(notif(record=pref_record(name_kanji=name, address=address)))
    assert n.record is not None
    assert n.record["name_kanji"] == name and "\ufa19" in str(n.record["name_kanji"])
    assert n.record["address"] == address and "\U000e0100" in str(n.record["address"])


def test_my_number_full_width_is_normalised_at_the_boundary() -> None:
    wide = "".join(chr(0xFF10 + int(c)) for c in MY_NUMBER)
    n = parse_notification(notif(record=pref_record(my_number=f"{wide[:4]}-{wide[4:8]} {wide[8:]}")))
    assert n.record is not None and n.record["my_number"] == MY_NUMBER


def test_absent_optional_items_are_stored_as_empty_strings() -> None:
    rec = pref_record()
    for item in ("aza_code", "former_surname_kanji", "former_surname_kana"):
        del rec[item]
    n = parse_notification(notif(record=rec))
    assert n.record is not None
    assert n.record["aza_code"] == n.record["former_surname_kanji"] == n.record["former_surname_kana"] == ""


def test_record_is_read_only() -> None:
    n = parse_notification(notif())
    assert isinstance(n.record, MappingProxyType)
    with pytest.raises(TypeError):
        n.record["sex"] = "2"  # type: ignore[index]


def test_reason_may_be_given_as_the_japanese_label() -> None:
    assert parse_notification(notif(reason="転居")).reason is ChangeReason.RELOCATION


def test_removal_may_omit_the_record() -> None:
    n = parse_notification(notif(reason="death", record=None))
    assert n.record is None and n.reason is ChangeReason.DEATH
    assert parse_notification(notif(reason="death", record=None, new_juminhyo_code=None)).record is None


def test_correction_that_changes_no_notified_item_may_omit_the_record() -> None:
    """世帯 reasons change nothing File 1 holds: a record could only repeat the current one."""
    assert parse_notification(notif(reason="household_split", record=None)).record is None


def test_juminhyo_code_change_carries_the_new_code() -> None:
    n = parse_notification(notif(reason="juminhyo_code_change_request", new_juminhyo_code=NEW_CODE))
    assert n.new_juminhyo_code == NEW_CODE


def test_fuhyo_address_in_another_prefecture_is_accepted() -> None:
    """The 附票 follows the 本籍: the person may live anywhere in Japan."""
    rec = fuhyo_record(address_municipality_code=CHIYODA, address="東京都千代田区千代田1番1号")
    n = parse_notification(notif("fuhyo", "relocation", record=rec))
    assert n.record is not None and n.record["address_municipality_code"] == CHIYODA


def test_fuhyo_abroad_record_has_empty_address_code_and_a_last_address() -> None:
    rec = fuhyo_record(address_municipality_code="", address="アメリカ合衆国", last_address="横浜市鶴見区1番")
    n = parse_notification(notif("fuhyo", "overseas_move_out", record=rec))
    assert n.record is not None and n.record["address_municipality_code"] == ""
    del rec["address_municipality_code"]
    assert parse_notification(notif("fuhyo", "overseas_move_out", record=rec)).record is not None


def test_check_digit_warning_in_warn_mode_and_silence_in_off_mode() -> None:
    """DOMAIN §2: the 住民票コード check digit is a hypothesis; WARN accepts and flags."""
    n = parse_notification(notif(juminhyo_code=BAD_CHECK_CODE))
    assert n.warnings == ("W_JUMINHYO_CODE_CHECK_DIGIT",)
    assert (
        parse_notification(notif(juminhyo_code=BAD_CHECK_CODE), check_digit_mode=CheckDigitMode.OFF).warnings
        == ()
    )


def test_check_digit_enforced_is_E_JUMINHYO_CODE_CHECK_DIGIT() -> None:
    r = rejected(notif(juminhyo_code=BAD_CHECK_CODE), check_digit_mode=CheckDigitMode.ENFORCE)
    assert r.code == "E_JUMINHYO_CODE_CHECK_DIGIT"
    r = rejected(
        notif(reason="juminhyo_code_change_request", new_juminhyo_code=BAD_CHECK_CODE),
        check_digit_mode=CheckDigitMode.ENFORCE,
    )
    assert r.code == "E_JUMINHYO_CODE_CHECK_DIGIT" and "new_juminhyo_code" in (r.detail or "")


def test_notification_id_bounds_accepted() -> None:
    assert parse_notification(notif(notification_id="x")).notification_id == "x"
    assert parse_notification(notif(notification_id="!" * 64)).notification_id == "!" * 64


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [[], "text", 1, None])
def test_not_an_object_is_E_NOT_OBJECT(value: object) -> None:
    assert rejected(value).code == "E_NOT_OBJECT"


@pytest.mark.parametrize(
    "field", ["file", "municipality_code", "notification_id", "reason", "change_date", "juminhyo_code"]
)
def test_missing_required_field_is_E_FIELD_MISSING(field: str) -> None:
    obj = notif()
    del obj[field]
    r = rejected(obj)
    assert r.code == "E_FIELD_MISSING" and r.detail == field


def test_unknown_top_level_field_is_E_FIELD_UNKNOWN() -> None:
    r = rejected(notif(operator_id="x", extra=1))
    assert r.code == "E_FIELD_UNKNOWN" and r.detail == "extra, operator_id"


@pytest.mark.parametrize(
    "over",
    [
        {"municipality_code": 141011},
        {"juminhyo_code": int(CODE)},
        {"change_date": None},
        {"new_juminhyo_code": 1},
        {"record": ["a"]},
        {"record": "x"},
    ],
)
def test_wrong_json_type_of_top_level_field_is_E_FIELD_TYPE(over: dict[str, Any]) -> None:
    assert rejected(notif(**over)).code == "E_FIELD_TYPE"


def test_bad_file_kind_is_E_FILE_KIND() -> None:
    assert rejected(notif(file="File1")).code == "E_FILE_KIND"


def test_file_not_matching_endpoint_is_E_FILE_KIND() -> None:
    assert rejected(notif(), expected_file=FileKind.FUHYO).code == "E_FILE_KIND"


@pytest.mark.parametrize("nid", ["", "x" * 65, "番号1", "a b", "a\tb"])
def test_bad_notification_id_is_E_NOTIFICATION_ID(nid: str) -> None:
    assert rejected(notif(notification_id=nid)).code == "E_NOTIFICATION_ID"


# ---------------------------------------------------------------------------------------------
# Sender, reason, codes, dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["141012", "14101", "14101１", "abcdef"])
def test_S38_bad_sender_code_is_E_LG_CODE_INVALID(code: str) -> None:
    assert rejected(notif(municipality_code=code)).code == "E_LG_CODE_INVALID"


@pytest.mark.parametrize(
    "code",
    [
        YOKOHAMA,  # designated city itself: its wards keep the register
        "140007",  # 神奈川県
        "143006",  # 三浦郡: a statistical area, not a local government
        CHIYODA,  # another prefecture
    ],
)
def test_S38_sender_not_a_kanagawa_register_municipality_is_E_LG_CODE_NOT_IN_PREF(code: str) -> None:
    assert rejected(notif(municipality_code=code)).code == "E_LG_CODE_NOT_IN_PREF"


def test_unknown_reason_is_E_REASON_UNKNOWN() -> None:
    assert rejected(notif(reason="moving")).code == "E_REASON_UNKNOWN"


def test_my_number_reason_for_file_2_is_E_REASON_NOT_FOR_FILE() -> None:
    """N-H2: 附票本人確認情報 holds no 個人番号."""
    assert rejected(notif("fuhyo", "my_number_change_request")).code == "E_REASON_NOT_FOR_FILE"


@pytest.mark.parametrize("code", ["1234567890", "123456789012", "１２３４５６７８９０１", ""])
def test_bad_juminhyo_code_is_E_JUMINHYO_CODE_FORMAT(code: str) -> None:
    assert rejected(notif(juminhyo_code=code)).code == "E_JUMINHYO_CODE_FORMAT"


def test_code_change_without_new_code_is_E_NEW_CODE_MISSING() -> None:
    assert rejected(notif(reason="juminhyo_code_change_request")).code == "E_NEW_CODE_MISSING"
    assert rejected(notif(reason="juminhyo_code_ex_officio_entry", new_juminhyo_code="")).code == (
        "E_NEW_CODE_MISSING"
    )


def test_new_code_for_another_reason_is_E_NEW_CODE_MISSING() -> None:
    assert rejected(notif(reason="relocation", new_juminhyo_code=NEW_CODE)).code == "E_NEW_CODE_MISSING"


def test_bad_new_code_is_E_JUMINHYO_CODE_FORMAT() -> None:
    r = rejected(notif(reason="juminhyo_code_change_request", new_juminhyo_code="123"))
    assert r.code == "E_JUMINHYO_CODE_FORMAT"


@pytest.mark.parametrize(
    ("text", "code"),
    [("yesterday", "E_DATE_FORMAT"), ("2026-13-01", "E_DATE_RANGE"), ("平成32年1月1日", "E_DATE_ERA_RANGE")],
)
def test_bad_change_date_keeps_the_dates_module_code(text: str, code: str) -> None:
    assert rejected(notif(change_date=text)).code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [("someday", "E_DATE_FORMAT"), ("1985-02-32", "E_DATE_RANGE"), ("昭和65年1月1日", "E_DATE_ERA_RANGE")],
)
def test_bad_birth_date_keeps_the_dates_module_code(text: str, code: str) -> None:
    r = rejected(notif(record=pref_record(birth_date=text)))
    assert r.code == code and "birth_date" in (r.detail or "")


def test_unknown_and_partial_dates_are_accepted() -> None:
    n = parse_notification(notif(change_date="2026年11月上旬", record=pref_record(birth_date="不詳")))
    assert n.record is not None and n.record["birth_date"] == JukiDate.parse_canonical("不詳")


# ---------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["domestic_move_in", "relocation", "my_number_change_request"])
def test_entry_or_changing_correction_without_record_is_E_RECORD_REQUIRED(reason: str) -> None:
    assert rejected(notif(reason=reason, record=None)).code == "E_RECORD_REQUIRED"


@pytest.mark.parametrize("item", ["seion_kana", "operator_id", "juminhyo_code", "name_gaiji_count"])
def test_S38_F1_1_b_item_not_notifiable_is_E_ITEM_NOT_NOTIFIABLE(item: str) -> None:
    r = rejected(notif(record={**pref_record(), item: "x"}))
    assert r.code == "E_ITEM_NOT_NOTIFIABLE" and item in (r.detail or "")


def test_S38_my_number_in_file_2_is_E_ITEM_NOT_NOTIFIABLE() -> None:
    """N-H2: File 2 never receives a 個人番号 from a municipality."""
    r = rejected(notif("fuhyo", "birth", record={**fuhyo_record(), "my_number": MY_NUMBER}))
    assert r.code == "E_ITEM_NOT_NOTIFIABLE" and r.detail == "my_number"


@pytest.mark.parametrize("value", [1, None, ["a"], {"a": 1}])
def test_non_string_item_is_E_ITEM_TYPE(value: object) -> None:
    r = rejected(notif(record={**pref_record(), "sex": value}))
    assert r.code == "E_ITEM_TYPE" and "sex" in (r.detail or "")


@pytest.mark.parametrize(
    "item", ["name_kanji", "name_kana", "birth_date", "sex", "address", "municipality_code", "my_number"]
)
def test_missing_required_pref_item_is_E_ITEM_MISSING(item: str) -> None:
    rec = pref_record()
    del rec[item]
    r = rejected(notif(record=rec))
    assert r.code == "E_ITEM_MISSING" and item in (r.detail or "")


@pytest.mark.parametrize("item", ["name_kanji", "name_kana", "birth_date", "sex", "address"])
def test_missing_required_fuhyo_item_is_E_ITEM_MISSING(item: str) -> None:
    rec = fuhyo_record()
    del rec[item]
    assert rejected(notif("fuhyo", "birth", record=rec)).code == "E_ITEM_MISSING"


def test_fuhyo_address_code_empty_without_last_address_is_E_ITEM_MISSING() -> None:
    """Only a 国外転出者 (with a 最終住所) may lack the 住所 市町村コード."""
    assert rejected(notif("fuhyo", "birth", record=fuhyo_record(address_municipality_code=""))).code == (
        "E_ITEM_MISSING"
    )
    rec = fuhyo_record()
    del rec["address_municipality_code"]
    assert rejected(notif("fuhyo", "birth", record=rec)).code == "E_ITEM_MISSING"


@pytest.mark.parametrize(
    "over",
    [
        {"name_kanji": ""},
        {"address": "　 "},
        {"name_kanji": "山田\x00太郎"},
        {"address": "横浜市\n鶴見区"},
        {"address": "横浜市\u2028鶴見区"},
        {"name_kanji": "山" * (MAX_NAME_LENGTH + 1)},
        {"address": "町" * (MAX_ADDRESS_LENGTH + 1)},
        {"former_surname_kanji": "　", "former_surname_kana": "タナカ"},
    ],
)
def test_bad_text_is_E_TEXT_INVALID(over: dict[str, str]) -> None:
    assert rejected(notif(record=pref_record(**over))).code == "E_TEXT_INVALID"


@pytest.mark.parametrize(
    "char",
    [
        "\u202e",  # RIGHT-TO-LEFT OVERRIDE
        "\u2066",  # LEFT-TO-RIGHT ISOLATE
        "\u2067",
        "\u2068",
        "\u2069",  # POP DIRECTIONAL ISOLATE
        "\u200b",  # ZERO WIDTH SPACE
        "\u200d",  # ZERO WIDTH JOINER
        "\ufeff",  # BOM / ZERO WIDTH NO-BREAK SPACE
        "\uffff",  # noncharacter
        "\U000e0041",  # TAG LATIN CAPITAL LETTER A
        "\u0378",  # unassigned
    ],
)
@pytest.mark.parametrize("item", ["name_kanji", "address", "former_surname_kanji"])
def test_hardening_3_S39_invisible_and_bidi_characters_are_E_TEXT_INVISIBLE(item: str, char: str) -> None:
    """Hardening issue item 3: such characters were stored, shown and counted as 外字."""
    value = {
        "name_kanji": "山田太郎",
        "address": "横浜市鶴見区鶴見中央二丁目3番4号",
        "former_surname_kanji": "田中",
    }[item]
    over = {item: value[:2] + char + value[2:]}
    if item == "former_surname_kanji":
        over["former_surname_kana"] = "タナカ"
    rejection = rejected(notif(record=pref_record(**over)))
    assert rejection.code == "E_TEXT_INVISIBLE"
    assert f"U+{ord(char):04X}" in str(rejection)


def test_hardening_3_S39_ivs_and_declared_gaiji_stay_accepted() -> None:
    ivs = "\u845b\U000e0100城太郎"  # 葛 + IVS selector
    pua = "山\ue000太郎"  # a private-use 外字 of the declared repertoire
    assert parse_notification(notif(record=pref_record(name_kanji=ivs))).record["name_kanji"] == ivs
    assert parse_notification(notif(record=pref_record(name_kanji=pua))).record["name_kanji"] == pua


def test_text_at_the_length_limit_is_accepted() -> None:
    prefix = "神奈川県横浜市鶴見区"
    n = parse_notification(
        notif(record=pref_record(address=prefix + "町" * (MAX_ADDRESS_LENGTH - len(prefix))))
    )
    assert n.record is not None and len(str(n.record["address"])) == MAX_ADDRESS_LENGTH


@pytest.mark.parametrize(
    "over", [{"name_kana": "山田　太郎"}, {"former_surname_kanji": "田中", "former_surname_kana": "Tanaka"}]
)
def test_non_kana_reading_is_E_KANA_INVALID(over: dict[str, str]) -> None:
    assert rejected(notif(record=pref_record(**over))).code == "E_KANA_INVALID"


@pytest.mark.parametrize("sex", ["0", "3", "M", "男", "", "１"])
def test_bad_sex_is_E_SEX_INVALID(sex: str) -> None:
    assert rejected(notif(record=pref_record(sex=sex))).code == "E_SEX_INVALID"


@pytest.mark.parametrize("value", ["123456789010", "01234567891", "", "11111111111X"])
def test_bad_my_number_is_E_MY_NUMBER_INVALID_without_echoing_it(value: str) -> None:
    r = rejected(notif(record=pref_record(my_number=value)))
    assert r.code == "E_MY_NUMBER_INVALID"
    assert not value or value not in r.message


def test_bad_record_municipality_code_is_E_LG_CODE_INVALID() -> None:
    assert rejected(notif(record=pref_record(municipality_code="141012"))).code == "E_LG_CODE_INVALID"
    rec = fuhyo_record(address_municipality_code="131017")
    assert rejected(notif("fuhyo", "birth", record=rec)).code == "E_LG_CODE_INVALID"


def test_record_municipality_not_a_kanagawa_register_municipality_is_E_LG_CODE_NOT_IN_PREF() -> None:
    assert rejected(notif(record=pref_record(municipality_code=YOKOHAMA))).code == "E_LG_CODE_NOT_IN_PREF"
    assert rejected(notif(record=pref_record(municipality_code=CHIYODA))).code == "E_LG_CODE_NOT_IN_PREF"
    rec = fuhyo_record(address_municipality_code=YOKOHAMA)  # a Kanagawa code must be a ward, not the city
    assert rejected(notif("fuhyo", "birth", record=rec)).code == "E_LG_CODE_NOT_IN_PREF"


@pytest.mark.parametrize("aza", ["123456", "12345678", "000100a", "０００１００１"])
def test_bad_aza_code_is_E_AZA_CODE_FORMAT(aza: str) -> None:
    assert rejected(notif(record=pref_record(aza_code=aza))).code == "E_AZA_CODE_FORMAT"


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def test_first_problem_in_fixed_order_is_reported() -> None:
    """Same input, same code: shape, file, id, municipality, reason, codes, dates, record items."""
    bad = {
        "file": "x",
        "notification_id": "",
        "municipality_code": "1",
        "reason": "?",
        "juminhyo_code": "1",
        "change_date": "?",
        "record": {"sex": "9"},
    }
    steps = [
        ("file", "pref", "E_FILE_KIND"),
        ("notification_id", "n1", "E_NOTIFICATION_ID"),
        ("municipality_code", TSURUMI, "E_LG_CODE_INVALID"),
        ("reason", "relocation", "E_REASON_UNKNOWN"),
        ("juminhyo_code", CODE, "E_JUMINHYO_CODE_FORMAT"),
        ("change_date", "2026-11-01", "E_DATE_FORMAT"),
        ("record", pref_record(sex="9"), "E_ITEM_MISSING"),
    ]
    obj: dict[str, Any] = dict(bad)
    for field, good, expected in steps:
        assert rejected(obj).code == expected
        obj[field] = good
    assert rejected(obj).code == "E_SEX_INVALID"


def test_operator_documentation_lists_every_error_code() -> None:
    """docs/notifications.md is what operators and municipalities read: it must name every code."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
    missing = [code for code in CATALOG if f"`{code}`" not in text]
    assert not missing, missing


# ---------------------------------------------------------------------------------------------
# Hardening issue, item 15: the 住所 lies in the municipality of its code
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "address"),
    [
        (TSURUMI, "神奈川県鎌倉市大町1番1号"),  # the case found: a 転居 from 鶴見区 to 鎌倉市
        (TSURUMI, "横浜市神奈川区東神奈川一丁目1番1号"),  # another ward of the same city
        (TSURUMI, "東京都千代田区千代田1番1号"),  # another prefecture
        (TSURUMI, "大町1番1号"),  # no municipality at all: where it lies cannot be told
    ],
)
def test_hardening_15_S39_address_outside_the_municipality_is_E_ADDRESS_MUNICIPALITY(
    code: str, address: str
) -> None:
    for reason in ("relocation", "domestic_move_in"):
        rejection = rejected(
            notif(reason=reason, record=pref_record(municipality_code=code, address=address))
        )
        assert rejection.code == "E_ADDRESS_MUNICIPALITY"


@pytest.mark.parametrize(
    ("code", "address"),
    [
        (TSURUMI, "神奈川県横浜市鶴見区鶴見中央一丁目1番1号"),
        (TSURUMI, "横浜市鶴見区鶴見中央一丁目1番1号"),  # without the prefecture
        (TSURUMI, "鶴見区鶴見中央一丁目1番1号"),  # the ward alone
        ("143821", "神奈川県足柄下郡箱根町湯本256番地"),  # a town with its 郡
        ("143821", "箱根町湯本256番地"),  # and without
    ],
)
def test_hardening_15_S39_address_inside_the_municipality_is_accepted(code: str, address: str) -> None:
    n = parse_notification(
        notif(municipality_code=code, record=pref_record(municipality_code=code, address=address))
    )
    assert n.record is not None and n.record["address"] == address


def test_hardening_15_S39_fuhyo_address_is_checked_against_a_kanagawa_address_code() -> None:
    record = fuhyo_record(address_municipality_code=TSURUMI, address="神奈川県鎌倉市大町1番1号")
    assert rejected(notif(file="fuhyo", reason="birth", record=record)).code == "E_ADDRESS_MUNICIPALITY"
