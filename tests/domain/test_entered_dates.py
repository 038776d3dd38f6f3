"""Dates as clerks type them at the terminal (F1-6, F2-6; issue 10 item 5): the 元号コード form and
the warning for a date that is not on the calendar."""

from __future__ import annotations

import pytest

from juki.domain.dates import DateParseError, calendar_warning, format_wareki, parse_date, parse_entered_date


@pytest.mark.parametrize(
    ("typed", "canonical", "wareki"),
    [
        ("3500926", "1975-09-26", "昭和50年9月26日"),
        ("３５００９２６", "1975-09-26", "昭和50年9月26日"),
        ("4010108", "1989-01-08", "平成元年1月8日"),
        ("5070401", "2025-04-01", "令和7年4月1日"),
        ("1450730", "1912-07-30", "大正元年7月30日"),
        ("3500900", "1975-09", "昭和50年9月不詳"),
        ("3500000", "1975", "昭和50年不詳"),
        ("昭和50年9月26日", "1975-09-26", "昭和50年9月26日"),  # what worked before still works
        ("1975-09-26", "1975-09-26", "昭和50年9月26日"),
    ],
)
def test_F1_6_era_code_dates(typed: str, canonical: str, wareki: str) -> None:
    date = parse_entered_date(typed)
    assert date.canonical() == canonical
    assert format_wareki(date) == wareki


@pytest.mark.parametrize("typed", ["6010101", "0500926", "3500026", "5010430", "3641231"])
def test_F1_6_era_code_errors_name_what_was_typed(typed: str) -> None:
    with pytest.raises(DateParseError) as failed:
        parse_entered_date(typed)
    assert typed in failed.value.message  # the operator sees what they typed, not our spelling of it


def test_F1_6_era_codes_are_operator_input_only() -> None:
    """A notification's dates keep their documented forms: the 7-digit form is not one of them."""
    with pytest.raises(DateParseError):
        parse_date("3500926")


def test_F1_6_warning_for_a_date_not_on_the_calendar() -> None:
    leap = parse_entered_date("4310229")  # 平成31年2月29日: 2019 is not a leap year
    assert leap.canonical() == "2019-02-29"
    warning = calendar_warning(leap)
    assert warning is not None and "暦にない日付" in warning and "2019-02-29" in warning
    assert calendar_warning(parse_entered_date("4080229")) is None  # 平成8年 (1996) is a leap year
    assert calendar_warning(parse_entered_date("3500900")) is None  # partial dates are not judged
