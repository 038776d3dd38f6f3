"""The prefecture as configuration (issue 14): a notification's 市町村コード belongs to the configured
prefecture and exists on its 異動年月日 (D1-14 市町村コード, D2-07 住所 市町村コード, D1-A3/D2-A3 the
file of the prefecture's persons; S-38 item checks; rejection E_LG_CODE_NOT_VALID_ON_DATE).

静岡県 (22) is the example: 浜松市 replaced seven wards by three on 2024-01-01, so 中区 221317 is a
code of 2023 and 中央区 221384 one of 2024 onwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from juki.domain.errors import CATALOG, Rejection
from juki.domain.lgcodes import for_prefecture
from juki.domain.notification import parse_notification
from tests.factories import MY_NUMBER, TSURUMI, jcode

SHIZUOKA = for_prefecture("22")
NAKA_OLD = "221317"  # 浜松市中区, abolished 2024-01-01
CHUO_NEW = "221384"  # 浜松市中央区, from 2024-01-01
TENRYU = "221376"  # 浜松市天竜区, before and after
SHIZUOKA_AOI = "221015"  # 静岡市葵区
CODE = jcode("3234567890")


def notification(code: str, change_date: str, **record_over: str) -> dict[str, Any]:
    """A 転入 to ``code`` of 静岡県 on ``change_date``, sent by that municipality."""
    record = {
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1985-03-04",
        "sex": "1",
        "address": f"静岡県{SHIZUOKA.name_of(code)}本町一丁目1番1号",
        "municipality_code": code,
        "aza_code": "",
        "my_number": MY_NUMBER,
        "former_surname_kanji": "",
        "former_surname_kana": "",
        **record_over,
    }
    return {
        "file": "pref",
        "municipality_code": code,
        "notification_id": f"{code}-1",
        "reason": "domestic_move_in",
        "change_date": change_date,
        "juminhyo_code": CODE,
        "record": record,
    }


def rejection(obj: dict[str, Any], **kwargs: Any) -> Rejection:
    with pytest.raises(Rejection) as info:
        parse_notification(obj, **kwargs)
    return info.value


def test_D1_14_old_hamamatsu_ward_is_accepted_for_a_2023_change_and_refused_for_2025() -> None:
    """Old records stay valid, new notifications use current codes (issue 14, D1-14)."""
    accepted = parse_notification(notification(NAKA_OLD, "2023-12-31"), lg_table=SHIZUOKA)
    assert accepted.municipality_code == NAKA_OLD
    refused = rejection(notification(NAKA_OLD, "2025-04-01"), lg_table=SHIZUOKA)
    assert refused.code == "E_LG_CODE_NOT_VALID_ON_DATE"
    assert "221317" in refused.message and "浜松市中区" in refused.message and "2025-04-01" in refused.message
    assert refused.message.startswith(CATALOG["E_LG_CODE_NOT_VALID_ON_DATE"].message_ja)
    # the first day after the change is already a new-code day
    assert rejection(notification(NAKA_OLD, "2024-01-01"), lg_table=SHIZUOKA).code == (
        "E_LG_CODE_NOT_VALID_ON_DATE"
    )


def test_D1_14_new_hamamatsu_ward_is_refused_before_it_existed() -> None:
    assert (
        parse_notification(notification(CHUO_NEW, "2024-01-01"), lg_table=SHIZUOKA).municipality_code
        == CHUO_NEW
    )
    assert (
        rejection(notification(CHUO_NEW, "2023-06-30"), lg_table=SHIZUOKA).code
        == "E_LG_CODE_NOT_VALID_ON_DATE"
    )
    for day in ("2015-01-01", "2026-11-01"):  # a ward that stayed is valid on both sides
        assert parse_notification(notification(TENRYU, day), lg_table=SHIZUOKA).municipality_code == TENRYU


def test_partial_change_date_passes_when_the_code_existed_on_some_day_of_it() -> None:
    """A 異動年月日 of 令和5年12月 (year and month only) may be 中区's last month; 令和6年 cannot."""
    partial = parse_notification(notification(NAKA_OLD, "令和5年12月"), lg_table=SHIZUOKA)
    assert partial.municipality_code == NAKA_OLD and partial.change_date.day is None
    assert (
        rejection(notification(NAKA_OLD, "令和6年"), lg_table=SHIZUOKA).code == "E_LG_CODE_NOT_VALID_ON_DATE"
    )
    assert (
        rejection(notification(CHUO_NEW, "令和5年"), lg_table=SHIZUOKA).code == "E_LG_CODE_NOT_VALID_ON_DATE"
    )


def test_D1_14_record_municipality_is_checked_on_the_change_date_too() -> None:
    """The record's 市町村コード, not only the sender's, must exist on the 異動年月日."""
    obj = notification(CHUO_NEW, "2023-05-01")
    obj["municipality_code"] = TENRYU  # a sender that exists in 2023
    obj["record"]["municipality_code"] = CHUO_NEW
    refused = rejection(obj, lg_table=SHIZUOKA)
    assert refused.code == "E_LG_CODE_NOT_VALID_ON_DATE" and CHUO_NEW in refused.message


def test_D2_07_fuhyo_address_code_of_the_prefecture_is_checked_on_the_change_date() -> None:
    """File 2's 住所 市町村コード of the configured prefecture must exist on the 異動年月日 (D2-07)."""
    record = {
        "name_kanji": "山田　花子",
        "name_kana": "ヤマダ　ハナコ",
        "birth_date": "1985-03-04",
        "sex": "2",
        "address": "静岡県浜松市中区本町1番1号",
        "address_municipality_code": NAKA_OLD,
        "last_address": "",
    }
    obj = {
        "file": "fuhyo",
        "municipality_code": SHIZUOKA_AOI,
        "notification_id": "fuhyo-1",
        "reason": "relocation",
        "change_date": "2023-03-01",
        "juminhyo_code": CODE,
        "record": record,
    }
    assert parse_notification(obj, lg_table=SHIZUOKA).record is not None
    obj["change_date"] = "2025-03-01"
    assert rejection(obj, lg_table=SHIZUOKA).code == "E_LG_CODE_NOT_VALID_ON_DATE"


def test_D1_A3_a_municipality_of_another_prefecture_is_refused_with_the_configured_prefecture() -> None:
    """D1-A3/D2-A3: the file holds the persons of *this* prefecture. With 22 configured a Kanagawa
    ward is another prefecture's (E_LG_CODE_NOT_IN_PREF), and a 静岡県 code is refused by the
    default (14) configuration: the table comes from the setting, not from the code."""
    kanagawa_move = notification(CHUO_NEW, "2026-11-01")
    kanagawa_move["municipality_code"] = TSURUMI
    refused = rejection(kanagawa_move, lg_table=SHIZUOKA)
    assert refused.code == "E_LG_CODE_NOT_IN_PREF" and "静岡県" in refused.message
    assert rejection(notification(CHUO_NEW, "2026-11-01")).code == "E_LG_CODE_NOT_IN_PREF"
    assert rejection(notification(CHUO_NEW, "2026-11-01"), lg_table=for_prefecture("14")).code == (
        "E_LG_CODE_NOT_IN_PREF"
    )


def test_designated_city_itself_is_never_a_municipality_code_in_any_prefecture() -> None:
    """DOMAIN §3: in a 指定都市 the ward is the 市町村コード, never the city (浜松市 221309)."""
    assert rejection(notification("221309", "2026-11-01"), lg_table=SHIZUOKA).code == "E_LG_CODE_NOT_IN_PREF"


def test_address_must_lie_in_the_configured_prefectures_municipality() -> None:
    """E_ADDRESS_MUNICIPALITY works from any prefecture's table: 中央区's code with 静岡市's address."""
    obj = notification(CHUO_NEW, "2026-11-01", address="静岡県静岡市葵区追手町9番6号")
    assert rejection(obj, lg_table=SHIZUOKA).code == "E_ADDRESS_MUNICIPALITY"
