"""Recorded dates: non-calendar and 不詳 forms, 和暦 (DOMAIN §5)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.dates import (
    ERAS,
    DateParseError,
    DateQualifier,
    JukiDate,
    era_of,
    format_seireki,
    format_wareki,
    parse_date,
)

Q = DateQualifier


@st.composite
def juki_dates(draw: st.DrawFn, min_year: int = 1, max_year: int = 9999) -> JukiDate:
    """Every representable JukiDate (the invariants of the module docstring)."""
    if draw(st.integers(0, 30)) == 0:
        return JukiDate(None, None, None, Q.UNKNOWN)
    year = draw(st.integers(min_year, max_year))
    precision = draw(st.sampled_from(["y", "ym", "ymd"]))
    month = draw(st.integers(1, 12)) if precision != "y" else None
    day = draw(st.integers(1, 31)) if precision == "ymd" else None
    allowed = [Q.NONE, Q.CIRCA, Q.ESTIMATED]
    if precision == "ym":
        allowed += [Q.EARLY, Q.MIDDLE, Q.LATE]
    return JukiDate(year, month, day, draw(st.sampled_from(allowed)))


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1985-03-04", (1985, 3, 4, Q.NONE)),
        ("1985-03", (1985, 3, None, Q.NONE)),
        ("1985", (1985, None, None, Q.NONE)),
        ("1985/3/4", (1985, 3, 4, Q.NONE)),
        ("1985/03/04", (1985, 3, 4, Q.NONE)),
        ("19850304", (1985, 3, 4, Q.NONE)),
        ("1985年3月4日", (1985, 3, 4, Q.NONE)),
        ("1985年3月", (1985, 3, None, Q.NONE)),
        ("１９８５年３月４日", (1985, 3, 4, Q.NONE)),
        ("昭和60年3月4日", (1985, 3, 4, Q.NONE)),
        ("昭和６０年３月４日", (1985, 3, 4, Q.NONE)),
        ("S60.3.4", (1985, 3, 4, Q.NONE)),
        ("s60.3.4", (1985, 3, 4, Q.NONE)),
        ("Ｓ６０．３．４", (1985, 3, 4, Q.NONE)),
        ("H1.1.8", (1989, 1, 8, Q.NONE)),
        ("平成元年1月8日", (1989, 1, 8, Q.NONE)),
        ("令和元年5月1日", (2019, 5, 1, Q.NONE)),
        ("R元.5.1", (2019, 5, 1, Q.NONE)),
        ("明治6年1月1日", (1873, 1, 1, Q.NONE)),
        ("大正元年7月30日", (1912, 7, 30, Q.NONE)),
        ("1985年3月上旬", (1985, 3, None, Q.EARLY)),
        ("昭和60年3月中旬", (1985, 3, None, Q.MIDDLE)),
        ("1985-03 下旬", (1985, 3, None, Q.LATE)),
        ("1985年頃", (1985, None, None, Q.CIRCA)),
        ("1985 頃", (1985, None, None, Q.CIRCA)),
        ("昭和60年3月4日頃", (1985, 3, 4, Q.CIRCA)),
        ("1985年推定", (1985, None, None, Q.ESTIMATED)),
        ("推定1985年3月", (1985, 3, None, Q.ESTIMATED)),
        ("不詳", (None, None, None, Q.UNKNOWN)),
        ("年月日不詳", (None, None, None, Q.UNKNOWN)),
        ("1985年不詳", (1985, None, None, Q.NONE)),
        ("1985年月日不詳", (1985, None, None, Q.NONE)),
        ("昭和60年3月日不詳", (1985, 3, None, Q.NONE)),
        ("1985年3月不詳", (1985, 3, None, Q.NONE)),
        ("1985年2月29日", (1985, 2, 29, Q.NONE)),
        ("1985-02-30", (1985, 2, 30, Q.NONE)),
        ("昭和60年2月30日", (1985, 2, 30, Q.NONE)),
    ],
)
def test_parse_date_accepted_forms(text: str, expected: tuple[object, ...]) -> None:
    """DOMAIN §5: ISO, 西暦, 和暦 (元年, full width, abbreviations), qualifiers and 不詳 forms."""
    d = parse_date(text)
    assert (d.year, d.month, d.day, d.qualifier) == expected
    assert d.text == text


@pytest.mark.parametrize("text", ["明治45年7月30日", "大正15年12月25日"])
def test_parse_date_accepts_the_two_boundary_days(text: str) -> None:
    """DOMAIN §5: the boundary days 明治45年7月30日 and 大正15年12月25日 are accepted as input."""
    d = parse_date(text)
    assert d.is_calendar_date
    assert d.to_date() in (date(1912, 7, 30), date(1926, 12, 25))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "E_DATE_FORMAT"),
        ("   ", "E_DATE_FORMAT"),
        ("abc", "E_DATE_FORMAT"),
        ("85年3月4日", "E_DATE_FORMAT"),
        ("1985年4日", "E_DATE_FORMAT"),
        ("1985年月", "E_DATE_FORMAT"),
        ("1985年3月4日不詳", "E_DATE_FORMAT"),
        ("1985年3月4日上旬", "E_DATE_FORMAT"),
        ("1985年上旬", "E_DATE_FORMAT"),
        ("1985-3-4-5", "E_DATE_FORMAT"),
        ("1985-13-01", "E_DATE_RANGE"),
        ("1985-00-01", "E_DATE_RANGE"),
        ("1985-01-32", "E_DATE_RANGE"),
        ("1985-01-00", "E_DATE_RANGE"),
        ("0000-01-01", "E_DATE_RANGE"),
        ("1985年13月", "E_DATE_RANGE"),
        ("昭和0年1月1日", "E_DATE_RANGE"),
        ("平成31年5月1日", "E_DATE_ERA_RANGE"),
        ("昭和64年1月8日", "E_DATE_ERA_RANGE"),
        ("平成元年1月7日", "E_DATE_ERA_RANGE"),
        ("明治5年12月1日", "E_DATE_ERA_RANGE"),
        ("明治45年7月31日", "E_DATE_ERA_RANGE"),
        ("大正15年12月26日", "E_DATE_ERA_RANGE"),
        ("昭和元年11月", "E_DATE_ERA_RANGE"),
        ("H32", "E_DATE_ERA_RANGE"),
    ],
)
def test_parse_date_errors(text: str, code: str) -> None:
    """DOMAIN §5: month 13 / day 32 and dates outside their era are errors with a Japanese message."""
    with pytest.raises(DateParseError) as info:
        parse_date(text)
    assert info.value.code == code
    assert any("\u3040" <= c <= "\u9fff" for c in str(info.value))


def test_date_parse_error_is_a_value_error() -> None:
    """DOMAIN §5: callers may catch ValueError."""
    with pytest.raises(ValueError):
        parse_date("1985-13-01")


# ---------------------------------------------------------------------------------------------
# The value object
# ---------------------------------------------------------------------------------------------


def test_calendar_and_complete() -> None:
    """DOMAIN §5: non-calendar dates (2月29日 of a non-leap year) are complete but not calendar dates."""
    assert parse_date("1984-02-29").is_calendar_date
    d = parse_date("1985-02-29")
    assert d.is_complete and not d.is_calendar_date and d.to_date() is None
    partial = parse_date("1985-03")
    assert not partial.is_complete and partial.to_date() is None
    assert parse_date("1985-03-04").to_date() == date(1985, 3, 4)
    assert parse_date("1985-03-04 頃").to_date() == date(1985, 3, 4)
    assert parse_date("不詳").is_unknown


def test_sort_key_approximations() -> None:
    """DOMAIN §5: unknown month/day → 00, 上旬/中旬/下旬 → 05/15/25, wholly unknown → 0."""
    assert parse_date("1985-03-04").sort_key == 19850304
    assert parse_date("1985-03").sort_key == 19850300
    assert parse_date("1985").sort_key == 19850000
    assert parse_date("1985年3月上旬").sort_key == 19850305
    assert parse_date("1985年3月中旬").sort_key == 19850315
    assert parse_date("1985年3月下旬").sort_key == 19850325
    assert parse_date("不詳").sort_key == 0
    assert parse_date("1985-02-30").sort_key == 19850230


def test_canonical_forms() -> None:
    """DOMAIN §5: the storage form."""
    assert parse_date("昭和60年3月4日").canonical() == "1985-03-04"
    assert parse_date("昭和60年3月上旬").canonical() == "1985-03 上旬"
    assert parse_date("1985年頃").canonical() == "1985 頃"
    assert parse_date("1985年不詳").canonical() == "1985"
    assert parse_date("年月日不詳").canonical() == "不詳"
    assert str(parse_date("S60.3.4")) == "1985-03-04"


def test_text_is_provenance_not_value() -> None:
    """DOMAIN §5: the recorded text is kept but two spellings of one date are equal."""
    a, b = parse_date("S60.3.4"), parse_date("1985-03-04")
    assert a == b and hash(a) == hash(b)
    assert a.text == "S60.3.4" and b.text == "1985-03-04"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: JukiDate(None, 3, None),
        lambda: JukiDate(1985, None, 4),
        lambda: JukiDate(None, None, None),
        lambda: JukiDate(1985, 3, 4, Q.UNKNOWN),
        lambda: JukiDate(1985, 3, 4, Q.EARLY),
        lambda: JukiDate(1985, 13, None),
    ],
)
def test_constructor_enforces_invariants(bad: object) -> None:
    """DOMAIN §5: a JukiDate in hand is always storable."""
    assert callable(bad)
    with pytest.raises(DateParseError):
        bad()


def test_parse_canonical_is_strict() -> None:
    """DOMAIN §5: parse_canonical accepts only the storage form."""
    assert JukiDate.parse_canonical("1985-03 上旬") == JukiDate(1985, 3, None, Q.EARLY)
    for s in ["1985/03/04", "1985-3-4", "昭和60年", "1985  頃", "1985 不詳", ""]:
        with pytest.raises(DateParseError):
            JukiDate.parse_canonical(s)


@given(juki_dates())
def test_canonical_round_trip(d: JukiDate) -> None:
    """DOMAIN §5: parse_canonical inverts canonical exactly, and parse_date reads canonical forms."""
    s = d.canonical()
    back = JukiDate.parse_canonical(s)
    assert back == d and back.canonical() == s and back.text == s
    assert parse_date(s) == d


@given(juki_dates(min_year=1000))
def test_display_round_trip(d: JukiDate) -> None:
    """DOMAIN §5: what format_wareki / format_seireki display parses back to the same date."""
    assert parse_date(format_seireki(d)) == d
    assert parse_date(format_wareki(d)) == d


@given(st.dates(min_value=date(1, 1, 1)), st.dates(min_value=date(1, 1, 1)))
def test_sort_key_orders_like_dates(a: date, b: date) -> None:
    """DOMAIN §5: for calendar dates the sort key orders exactly like the dates (ISO fast path)."""
    da, db = parse_date(a.isoformat()), parse_date(b.isoformat())
    assert da.to_date() == a and da.is_calendar_date
    assert (da.sort_key < db.sort_key) == (a < b)


@given(juki_dates(min_year=1))
def test_partial_sorts_before_its_completions(d: JukiDate) -> None:
    """DOMAIN §5: a partial date's key is ≤ the key of any full date it may stand for."""
    if d.year is None or d.day is not None:
        return
    if d.qualifier not in (Q.EARLY, Q.MIDDLE, Q.LATE):
        full = JukiDate(d.year, d.month or 1, 1)
        assert d.sort_key < full.sort_key


# ---------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wareki", "seireki"),
    [
        ("1985-03-04", "昭和60年3月4日", "1985年3月4日"),
        ("1989-01-07", "昭和64年1月7日", "1989年1月7日"),
        ("1989-01-08", "平成元年1月8日", "1989年1月8日"),
        ("2019-04-30", "平成31年4月30日", "2019年4月30日"),
        ("2019-05-01", "令和元年5月1日", "2019年5月1日"),
        ("1926-12-25", "昭和元年12月25日", "1926年12月25日"),
        ("1912-07-30", "大正元年7月30日", "1912年7月30日"),
        ("1873-01-01", "明治6年1月1日", "1873年1月1日"),
        ("1872-12-31", "1872年12月31日", "1872年12月31日"),
        ("1985-03 上旬", "昭和60年3月上旬", "1985年3月上旬"),
        ("1985", "昭和60年不詳", "1985年不詳"),
        ("1985-03", "昭和60年3月不詳", "1985年3月不詳"),
        ("1985 頃", "昭和60年頃", "1985年頃"),
        ("1985-02-30", "昭和60年2月30日", "1985年2月30日"),
        ("不詳", "不詳", "不詳"),
    ],
)
def test_format_wareki_and_seireki(text: str, wareki: str, seireki: str) -> None:
    """DOMAIN §5: 和暦 display with 元年; 西暦 display for foreign residents; unknown parts shown."""
    d = parse_date(text)
    assert format_wareki(d) == wareki
    assert format_seireki(d) == seireki


def test_era_table_is_one_place() -> None:
    """DOMAIN §5: the era table holds the five eras with their start dates."""
    assert [(e.name, e.abbreviation, e.start) for e in ERAS] == [
        ("明治", "M", date(1873, 1, 1)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]
    assert era_of(1872, 12, 31) is None
    assert era_of(2019, 4, 30) == ERAS[3]


# ---------------------------------------------------------------------------------------------
# Hardening issue, item 17: 旬+頃, and the era a partial date was entered in
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "wareki"),
    [
        ("1985年3月上旬頃", "1985-03 上旬頃", "昭和60年3月上旬頃"),
        ("昭和60年3月中旬頃", "1985-03 中旬頃", "昭和60年3月中旬頃"),
        ("S60.3 下旬頃", "1985-03 下旬頃", "昭和60年3月下旬頃"),
        ("1985年3月初旬頃", "1985-03 上旬頃", "昭和60年3月上旬頃"),
    ],
)
def test_hardening_17_F1_1_ten_day_period_with_circa(text: str, canonical: str, wareki: str) -> None:
    d = parse_date(text)
    assert d.canonical() == canonical
    assert JukiDate.parse_canonical(canonical) == d
    assert format_wareki(d) == wareki
    assert d.sort_key == parse_date(text.replace("頃", "")).sort_key


@pytest.mark.parametrize(
    ("text", "canonical", "wareki"),
    [
        ("令和元年", "2019 令和", "令和元年不詳"),
        ("平成31年", "2019", "平成31年不詳"),
        ("平成元年1月", "1989-01 平成", "平成元年1月不詳"),
        ("昭和64年1月", "1989-01", "昭和64年1月不詳"),
        ("令和元年5月", "2019-05", "令和元年5月不詳"),
        ("令和元年頃", "2019 頃 令和", "令和元年頃"),
    ],
)
def test_hardening_17_F1_1_partial_date_keeps_the_era_it_was_entered_in(
    text: str, canonical: str, wareki: str
) -> None:
    d = parse_date(text)
    assert d.canonical() == canonical
    stored = JukiDate.parse_canonical(canonical)
    assert stored == d
    assert format_wareki(stored) == wareki


def test_hardening_17_F1_1_entered_era_is_information_not_provenance() -> None:
    """令和元年 (May–December 2019) and 平成31年 (January–April) are different periods."""
    assert parse_date("令和元年") != parse_date("平成31年")
    assert parse_date("2019") == parse_date("平成31年")


@pytest.mark.parametrize(
    ("text", "canonical", "wareki", "seireki"),
    [
        ("昭和60年～61年", "1985～1986", "昭和60年～昭和61年", "1985年～1986年"),
        ("昭和60年〜昭和61年", "1985～1986", "昭和60年～昭和61年", "1985年～1986年"),
        ("S60～S61", "1985～1986", "昭和60年～昭和61年", "1985年～1986年"),
        ("1985年～1986年", "1985～1986", "昭和60年～昭和61年", "1985年～1986年"),
        ("1985年3月～5月", "1985-03～1985-05", "昭和60年3月～昭和60年5月", "1985年3月～1985年5月"),
        ("昭和64年～平成2年", "1989～1990", "昭和64年～平成2年", "1989年～1990年"),
    ],
)
def test_hardening_17_F1_1_unknown_date_ranges_are_accepted(
    text: str, canonical: str, wareki: str, seireki: str
) -> None:
    d = parse_date(text)
    assert d.canonical() == canonical
    assert JukiDate.parse_canonical(canonical) == d
    assert format_wareki(d) == wareki
    assert format_seireki(d) == seireki
    assert d.sort_key == parse_date(text.split("～")[0].split("〜")[0]).sort_key  # sorted by its first bound
    assert not d.is_complete and d.to_date() is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1985年～1984年", "E_DATE_RANGE"),  # ends before it starts
        ("1985年3月～1986年", "E_DATE_FORMAT"),  # bounds of different precision
        ("1985年3月4日～5日", "E_DATE_FORMAT"),  # a range of days is not a 不詳 date
        ("～1986年", "E_DATE_FORMAT"),
    ],
)
def test_hardening_17_F1_1_malformed_ranges_are_refused(text: str, code: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_date(text)
    assert info.value.code == code


def test_span_is_the_first_and_last_day_a_date_can_mean() -> None:
    """JukiDate.span (issue 14: a code's validity is checked against every day a partial date may be)."""
    assert parse_date("2023-12-31").span == (date(2023, 12, 31), date(2023, 12, 31))
    assert parse_date("令和5年12月").span == (date(2023, 12, 1), date(2023, 12, 31))
    assert parse_date("令和6年2月").span == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_date("令和5年").span == (date(2023, 1, 1), date(2023, 12, 31))
    assert parse_date("令和5年12月上旬").span == (date(2023, 12, 1), date(2023, 12, 31))
    assert parse_date("不詳").span is None
    assert parse_date("昭和60年～61年").span == (date(1985, 1, 1), date(1986, 12, 31))
