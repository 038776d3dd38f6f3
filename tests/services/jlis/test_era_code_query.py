"""The J-LIS query page takes the dates clerks type (F1-5, F2-5; issue 10 item 5)."""

from __future__ import annotations

from juki.services.jlis.operator_query import QueryInput, era_code_as_date


def test_F1_5_jlis_query_takes_era_code_dates() -> None:
    """Issue 10 item 5 on the J-LIS query page (F1-5/F2-5): a 元号コード birth date is sent in the form
    J-LIS reads; anything else goes as typed, for J-LIS to judge."""
    assert era_code_as_date("3500926") == "1975-09-26"
    assert era_code_as_date("３５００９００") == "1975-09"
    assert era_code_as_date("昭和50年9月26日") == "昭和50年9月26日"
    assert era_code_as_date("9999999") == "9999999"
    entered = QueryInput(by="basic4", name_kana="ヤマダ", birth_date="3500926")
    assert entered.basic4().birth_date == "1975-09-26"
