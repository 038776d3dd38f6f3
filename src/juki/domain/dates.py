"""Dates as the resident register records them (DOMAIN §5).

A 生年月日 or 異動年月日 is not a ``datetime.date``: MIC 標準仕様書 1.1.8 requires non-calendar dates
(2月29日 in a non-leap year, 2月30日, as a 戸籍 may record them) and 不詳 forms (year only, year and
month, 上旬/中旬/下旬, 頃, 推定, wholly unknown). :class:`JukiDate` keeps the parts, a qualifier, the text
as received, and derives a sortable integer key.

Representation choices (the project's, documented once here):

* Missing parts are unknown. A year-only date is ``(1985, None, None)``; "1985年不詳" and "1985" mean the
  same thing and have the same canonical form "1985". :attr:`DateQualifier.UNKNOWN` is used only for a
  *wholly* unknown date (all parts None), whose canonical form is "不詳".
* A day without a month, or a month without a year, is not representable (no source needs it).
* 上旬/中旬/下旬 need a known year and month and no day; 頃 and 推定 may qualify any known precision.
* ``text`` is provenance, not value: it does not take part in equality or hashing, so "S60.3.4" and
  "1985-03-04" are the same date.
* 不詳 ranges ("昭和60年～61年", "1985年3月～5月") are a period between two partial dates of the same
  precision (years, or years and months), kept as ``end``; the canonical form joins both bounds with "～"
  ("1985～1986", "1985-03～1985-05"). A range sorts (and is searched) by its first bound.

The era table :data:`ERAS` is the single place that knows the 和暦; a new era is one more row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Final

__all__ = [
    "ERAS",
    "DateParseError",
    "DateQualifier",
    "Era",
    "JukiDate",
    "calendar_warning",
    "era_of",
    "format_seireki",
    "format_wareki",
    "parse_date",
    "parse_entered_date",
]


class DateQualifier(StrEnum):
    """How precise a recorded date is (the values are the Japanese words used in text forms)."""

    NONE = ""
    EARLY = "上旬"
    MIDDLE = "中旬"
    LATE = "下旬"
    EARLY_CIRCA = "上旬頃"  # a 旬 that is itself approximate: "1985年3月上旬頃"
    MIDDLE_CIRCA = "中旬頃"
    LATE_CIRCA = "下旬頃"
    CIRCA = "頃"
    ESTIMATED = "推定"
    UNKNOWN = "不詳"


class DateParseError(ValueError):
    """A date text that cannot be read; ``code`` is a stable error code, the message is for operators."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: Representative day of a 旬 for sorting and for choosing the era of a partial date.
_TEN_DAY_SORT_DAY: Final = {
    DateQualifier.EARLY: 5,
    DateQualifier.MIDDLE: 15,
    DateQualifier.LATE: 25,
    DateQualifier.EARLY_CIRCA: 5,
    DateQualifier.MIDDLE_CIRCA: 15,
    DateQualifier.LATE_CIRCA: 25,
}
_TEN_DAY_QUALIFIERS: Final = frozenset(_TEN_DAY_SORT_DAY)


# ---------------------------------------------------------------------------------------------
# The era table — the only place that knows the 和暦
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Era:
    """One 元号.

    ``start`` is the first day the era is used with Gregorian dates (明治: 1873-01-01, when Japan adopted
    the Gregorian calendar; earlier 明治 dates are lunisolar and not supported). ``first_year`` is the
    Gregorian year of 元年, which differs from ``start.year`` only for 明治 (1868).
    ``input_includes_successor_start``: the successor's first day is also accepted written in this era —
    DOMAIN §5 names 明治45年7月30日 and 大正15年12月25日, which appear in records.
    """

    name: str
    abbreviation: str
    start: date
    first_year: int
    input_includes_successor_start: bool = False


ERAS: Final[tuple[Era, ...]] = (
    Era("明治", "M", date(1873, 1, 1), 1868, input_includes_successor_start=True),
    Era("大正", "T", date(1912, 7, 30), 1912, input_includes_successor_start=True),
    Era("昭和", "S", date(1926, 12, 25), 1926),
    Era("平成", "H", date(1989, 1, 8), 1989),
    Era("令和", "R", date(2019, 5, 1), 2019),
)

_ERA_BY_NAME: Final[dict[str, int]] = {e.name: i for i, e in enumerate(ERAS)}
_ERA_BY_TOKEN: Final[dict[str, int]] = {
    **{e.name: i for i, e in enumerate(ERAS)},
    **{e.abbreviation: i for i, e in enumerate(ERAS)},
}

_YMD = tuple[int, int, int]


def _ymd(d: date) -> _YMD:
    return (d.year, d.month, d.day)


def _era_input_bounds(index: int) -> tuple[_YMD, _YMD | None]:
    """Inclusive (first, last) day a date may be written in ERAS[index]; last is None for the current era.

    Tuples rather than ``date`` because non-calendar days (2月30日) must compare too.
    """
    era = ERAS[index]
    if index + 1 == len(ERAS):
        return _ymd(era.start), None
    successor = ERAS[index + 1].start
    if era.input_includes_successor_start:
        return _ymd(era.start), _ymd(successor)
    return _ymd(era.start), _ymd(date.fromordinal(successor.toordinal() - 1))


def era_of(year: int, month: int = 1, day: int = 1) -> Era | None:
    """The era in force on (year, month, day) — the latest era started on or before it; None before 明治."""
    key = (year, month, day)
    for era in reversed(ERAS):
        if key >= _ymd(era.start):
            return era
    return None


# ---------------------------------------------------------------------------------------------
# The value object
# ---------------------------------------------------------------------------------------------


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


@dataclass(frozen=True)
class JukiDate:
    """A recorded date: parts (any may be unknown), a qualifier, and the text as received.

    Construction validates the invariants listed in the module docstring and raises
    :class:`DateParseError` (so a ``JukiDate`` in hand is always storable).
    """

    year: int | None
    month: int | None
    day: int | None
    qualifier: DateQualifier = DateQualifier.NONE
    text: str = field(default="", compare=False)
    #: The 元号 a partial date was entered in, kept only where the parts alone would be shown in
    #: another era: "令和元年" (2019, month unknown) is not "平成31年", nor "平成元年1月" "昭和64年1月".
    #: It is information (a narrower period), so it takes part in equality and in the stored form.
    era: str | None = None
    #: The last (year, month) of a 不詳 range; month is None for a range of years.
    end: tuple[int, int | None] | None = None

    def __post_init__(self) -> None:
        y, m, d, q = self.year, self.month, self.day, self.qualifier
        if y is None:
            if m is not None or d is not None:
                raise DateParseError("E_DATE_FORMAT", "年が不詳の場合、月日は指定できません")
            if q is not DateQualifier.UNKNOWN:
                raise DateParseError("E_DATE_FORMAT", "年月日がすべて不詳の日付は「不詳」として記録します")
            return
        if q is DateQualifier.UNKNOWN:
            raise DateParseError("E_DATE_FORMAT", "年が分かっている日付に「不詳」の修飾は付けられません")
        if not 1 <= y <= 9999:
            raise DateParseError("E_DATE_RANGE", f"年が範囲外です（1～9999）: {y}")
        if m is None:
            if d is not None:
                raise DateParseError("E_DATE_FORMAT", "月が不詳の場合、日は指定できません")
        elif not 1 <= m <= 12:
            raise DateParseError("E_DATE_RANGE", f"月が範囲外です（1～12）: {m}")
        if d is not None and not 1 <= d <= 31:
            raise DateParseError("E_DATE_RANGE", f"日が範囲外です（1～31）: {d}")
        if q in _TEN_DAY_QUALIFIERS and (m is None or d is not None):
            raise DateParseError("E_DATE_FORMAT", f"「{q.value}」は年月が分かり日が不詳の場合にだけ使えます")
        if self.end is not None:
            self._check_range()
        if self.era is not None and (self.era not in _ERA_BY_NAME or d is not None):
            raise DateParseError("E_DATE_FORMAT", f"元号の指定は日が不詳の日付にだけ付けられます: {self.era}")

    def _check_range(self) -> None:
        assert self.end is not None and self.year is not None
        end_year, end_month = self.end
        if self.day is not None or self.qualifier is not DateQualifier.NONE or self.era is not None:
            raise DateParseError(
                "E_DATE_FORMAT", "範囲の日付は年または年月だけで指定します（例: 昭和60年～61年）"
            )
        if (self.month is None) != (end_month is None):
            raise DateParseError(
                "E_DATE_FORMAT", "範囲の始まりと終わりは同じ精度（年どうし、年月どうし）で指定します"
            )
        if not 1 <= end_year <= 9999 or (end_month is not None and not 1 <= end_month <= 12):
            raise DateParseError("E_DATE_RANGE", f"範囲の終わりが範囲外です: {end_year}-{end_month}")
        if (end_year, end_month or 0) <= (self.year, self.month or 0):
            raise DateParseError("E_DATE_RANGE", "範囲の終わりは始まりより後の日付にします")

    @property
    def end_date(self) -> JukiDate | None:
        """The last bound of a 不詳 range as a date of its own."""
        if self.end is None:
            return None
        return JukiDate(self.end[0], self.end[1], None)

    # -- derived views ---------------------------------------------------------------------------

    @property
    def is_unknown(self) -> bool:
        """Wholly unknown (不詳)."""
        return self.year is None

    @property
    def is_complete(self) -> bool:
        """Year, month and day are all known (the day may still be non-calendar, e.g. 2月30日)."""
        return self.day is not None

    @property
    def is_calendar_date(self) -> bool:
        """All parts known and a real Gregorian date. A 頃/推定 qualifier does not change this."""
        y, m, d = self.year, self.month, self.day
        return y is not None and m is not None and d is not None and d <= _days_in_month(y, m)

    def to_date(self) -> date | None:
        """The ``datetime.date`` when :attr:`is_calendar_date`, else None."""
        if (
            self.year is not None
            and self.month is not None
            and self.day is not None
            and self.is_calendar_date
        ):
            return date(self.year, self.month, self.day)
        return None

    @property
    def span(self) -> tuple[date, date] | None:
        """The first and last calendar day this date can mean; None when wholly unknown.

        A partial date (年月, 年, a 不詳 range, 上旬…) is a period, and a rule that depends on the day
        (e.g. whether a 市町村コード existed then) must hold for some day of it. 上旬・中旬・下旬 are read
        as their whole month: a wider period only makes such a rule more lenient, never wrong.
        A day past its month's end (2月30日, kept as received) is read as the month's last day.
        """
        if self.year is None:
            return None
        first_month = self.month or 1
        first = date(self.year, first_month, min(self.day or 1, _days_in_month(self.year, first_month)))
        last_year, last_month = self.end if self.end is not None else (self.year, self.month)
        if self.day is not None and self.end is None:
            return first, first
        last_month = last_month or 12
        return first, date(last_year, last_month, _days_in_month(last_year, last_month))

    @property
    def sort_key(self) -> int:
        """YYYYMMDD as an integer, for ordering and range search.

        Unknown month → 00 and unknown day → 00, so a partial date sorts before every full date it could
        be; 上旬/中旬/下旬 → day 05/15/25; a wholly unknown date → 0 (before everything). Non-calendar days
        keep their number (2月30日 → …0230), which still orders correctly.
        """
        if self.year is None:
            return 0
        day = self.day if self.day is not None else _TEN_DAY_SORT_DAY.get(self.qualifier, 0)
        return self.year * 10000 + (self.month or 0) * 100 + day

    def canonical(self) -> str:
        """The storage form: "1985-03-04", "1985-03", "1985", with " 上旬"/" 頃"/… appended, then the
        entered 元号 where it is kept (" 令和"); "不詳"."""
        # Memoised on the (immutable) instance: the bulk loader asks the same cached dates for their
        # form on every row (issue 14 item 4), and formatting was a measurable share of a row's cost.
        known: str | None = self.__dict__.get("_canonical")
        if known is None:
            known = self._format()
            object.__setattr__(self, "_canonical", known)
        return known

    def _format(self) -> str:
        if self.year is None:
            return DateQualifier.UNKNOWN.value
        if self.month is None:
            core = f"{self.year:04d}"
        elif self.day is None:
            core = f"{self.year:04d}-{self.month:02d}"
        else:
            core = f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.qualifier:
            core = f"{core} {self.qualifier.value}"
        if self.end is not None:
            end_year, end_month = self.end
            core += f"～{end_year:04d}" + (f"-{end_month:02d}" if end_month is not None else "")
        return f"{core} {self.era}" if self.era else core

    def __str__(self) -> str:
        return self.canonical()

    @classmethod
    def parse_canonical(cls, s: str) -> JukiDate:
        """Exact inverse of :meth:`canonical`; anything else raises :class:`DateParseError`.

        Bulk load reads stored dates through here, so the common full-date form skips the regex.
        """
        if len(s) == 10 and s[4] == "-" and s[7] == "-" and s.isascii():
            y, mo, d = s[:4], s[5:7], s[8:]
            if y.isdigit() and mo.isdigit() and d.isdigit():
                return cls(int(y), int(mo), int(d), DateQualifier.NONE, s)
        if s == DateQualifier.UNKNOWN.value:
            return cls(None, None, None, DateQualifier.UNKNOWN, s)
        if _RANGE_MARK in s:
            first, _, last = s.partition(_RANGE_MARK)
            start, stop = cls.parse_canonical(first), cls.parse_canonical(last)
            if stop.day is not None or stop.qualifier or stop.era or stop.year is None:
                raise DateParseError("E_DATE_FORMAT", f"日付の保存形式ではありません: {s!r}")
            return cls(
                start.year, start.month, start.day, start.qualifier, s, start.era, (stop.year, stop.month)
            )
        m = _CANONICAL_RE.fullmatch(s)
        if m is None:
            raise DateParseError("E_DATE_FORMAT", f"日付の保存形式ではありません: {s!r}")
        y, mo, d, q, era = m.groups()
        qualifier = DateQualifier(q) if q else DateQualifier.NONE
        if qualifier is DateQualifier.UNKNOWN:
            raise DateParseError("E_DATE_FORMAT", f"日付の保存形式ではありません: {s!r}")
        return cls(int(y), int(mo) if mo else None, int(d) if d else None, qualifier, s, era)

    @classmethod
    def from_date(cls, d: date) -> JukiDate:
        """A calendar date, with its ISO form as text."""
        return cls(d.year, d.month, d.day, DateQualifier.NONE, d.isoformat())


_RANGE_MARK: Final = "～"
_CANONICAL_RE: Final = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?: (上旬頃|中旬頃|下旬頃|上旬|中旬|下旬|頃|推定))?"
    r"(?: (明治|大正|昭和|平成|令和))?"
)


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

_QUALIFIER_SUFFIXES: Final[tuple[tuple[str, DateQualifier], ...]] = (
    # the combined forms first: "上旬頃" must not be read as 頃 of "…上旬"
    ("上旬頃", DateQualifier.EARLY_CIRCA),
    ("初旬頃", DateQualifier.EARLY_CIRCA),
    ("中旬頃", DateQualifier.MIDDLE_CIRCA),
    ("下旬頃", DateQualifier.LATE_CIRCA),
    ("上旬", DateQualifier.EARLY),
    ("初旬", DateQualifier.EARLY),
    ("中旬", DateQualifier.MIDDLE),
    ("下旬", DateQualifier.LATE),
    ("頃", DateQualifier.CIRCA),
    ("ころ", DateQualifier.CIRCA),
    ("推定", DateQualifier.ESTIMATED),
)
_UNKNOWN_WORDS: Final = ("不詳", "不明")
_WHOLLY_UNKNOWN_CORES: Final = frozenset({"", "年月日", "生年月日"})
_ERA_TOKENS: Final = "|".join(sorted(_ERA_BY_TOKEN, key=len, reverse=True))

# 年月日 style; a label without a number ("1985年3月日") is only allowed before 不詳.
_KANJI_RE: Final = re.compile(
    rf"(?:(?P<era>{_ERA_TOKENS})(?P<eyear>元|\d{{1,4}})|(?P<year>\d{{4}}))年"
    r"(?:(?P<month>\d{1,2})?月)?(?:(?P<day>\d{1,2})?日)?",
    re.ASCII,
)
# Numeric style: 1985-03-04, 1985/3/4, 1985.3.4, S60.3.4, 昭和60.3.4, 19850304.
_NUMERIC_RE: Final = re.compile(
    rf"(?:(?P<era>{_ERA_TOKENS})(?P<eyear>元|\d{{1,4}})|(?P<year>\d{{4}}))"
    r"(?:(?P<sep>[-/.])(?P<month>\d{1,2})(?:(?P=sep)(?P<day>\d{1,2}))?)?",
    re.ASCII,
)
_COMPACT_RE: Final = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)


def _format_error(text: str) -> DateParseError:
    return DateParseError(
        "E_DATE_FORMAT",
        f"日付として読み取れません: {text!r}（例: 1985-03-04、昭和60年3月4日、S60.3.4、1985年3月上旬、不詳）",
    )


def _check_era_range(era_index: int, y: int, m: int | None, d: int | None, text: str) -> None:
    """Reject a 和暦 date lying wholly outside its era's input range (partial dates: any overlap is fine)."""
    first, last = _era_input_bounds(era_index)
    earliest = (y, m or 1, d or 1)
    latest = (y, m or 12, d or 31)
    if latest < first or (last is not None and earliest > last):
        era = ERAS[era_index]
        raise DateParseError("E_DATE_ERA_RANGE", f"{era.name}の期間外の日付です: {text!r}")


# "～" (U+FF5E) folds to "~" under NFKC; the wave dash 〜 (U+301C) and the tilde are written too.
_RANGE_SEPARATORS: Final = ("~", "〜", "-から", "から")


def _slow_parse(text: str) -> JukiDate:
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    for sep in _RANGE_SEPARATORS:
        if sep in folded:
            return _parse_range(text, *folded.split(sep, 1))
    return _parse_one(text)


def _parse_range(text: str, first: str, last: str) -> JukiDate:
    """ "昭和60年～61年", "1985年～1986年", "1985年3月～5月", "S60～S61": the second bound may leave out
    what it shares with the first (the era, or the year of a month range)."""
    start = _parse_one(first)
    if start.year is None:
        raise _format_error(text)
    m = _RANGE_TAIL_RE.fullmatch(last.upper())
    if m is not None and start.month is None and m["year"] and not m["month"]:
        # a bare year: in the first bound's era when that was written in one
        era = _ENTERED_ERA_RE.match(first.upper())
        year = int(m["year"]) if not era else None
        if era:
            eyear = 1 if m["year"] == "元" else int(m["year"])
            year = ERAS[_ERA_BY_TOKEN[era[1]]].first_year + eyear - 1
        assert year is not None
        stop = JukiDate(year, None, None)
    elif m is not None and start.month is not None and m["month"] and not m["year"]:
        stop = JukiDate(start.year, int(m["month"]), None)
    else:
        stop = _parse_one(last)
    if stop.year is None or stop.day is not None or stop.qualifier:
        raise _format_error(text)
    if start.era is not None:  # an entered era of a range is shown by each bound's own period
        start = JukiDate(start.year, start.month, start.day, start.qualifier, text)
    return JukiDate(start.year, start.month, start.day, start.qualifier, text, None, (stop.year, stop.month))


_RANGE_TAIL_RE: Final = re.compile(r"(?:(?P<year>元|\d{1,4})年?)?(?:(?P<month>\d{1,2})月)?(?:不詳)?")
_ENTERED_ERA_RE: Final = re.compile(rf"({_ERA_TOKENS})")


def _parse_one(text: str) -> JukiDate:
    # NFKC folds full-width digits and letters, and the square era signs (㍼ → 昭和); dates carry no
    # kanji names, so unlike names and addresses they may be normalised wholesale.
    s = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    if not s:
        raise DateParseError("E_DATE_FORMAT", "日付が指定されていません（不明な場合は「不詳」と記録します）")
    qualifier = DateQualifier.NONE
    if s.startswith("推定"):
        qualifier, s = DateQualifier.ESTIMATED, s[2:]
    for suffix, q in _QUALIFIER_SUFFIXES:
        if s.endswith(suffix):
            if qualifier is not DateQualifier.NONE:
                raise _format_error(text)
            qualifier, s = q, s[: -len(suffix)]
            break
    unknown = False
    for word in _UNKNOWN_WORDS:
        if s.endswith(word):
            unknown, s = True, s[: -len(word)]
            break
    if unknown and qualifier is not DateQualifier.NONE:
        raise _format_error(text)
    if unknown and s in _WHOLLY_UNKNOWN_CORES:
        return JukiDate(None, None, None, DateQualifier.UNKNOWN, text)

    m = _KANJI_RE.fullmatch(s)
    if m is not None:
        month_label = "月" in s
        day_label = "日" in s
        if not unknown and (
            (month_label and m["month"] is None)
            or (day_label and m["day"] is None)
            or (day_label and not month_label)
        ):
            raise _format_error(text)
    else:
        m = _NUMERIC_RE.fullmatch(s)
        if m is None:
            c = _COMPACT_RE.fullmatch(s)
            if c is None:
                raise _format_error(text)
            return _build(None, int(c[1]), int(c[2]), int(c[3]), qualifier, unknown, text)
    month = int(m["month"]) if m["month"] else None
    day = int(m["day"]) if m["day"] else None
    if m["era"]:
        era_index = _ERA_BY_TOKEN[m["era"]]
        eyear = 1 if m["eyear"] == "元" else int(m["eyear"])
        if eyear < 1:
            raise DateParseError("E_DATE_RANGE", f"和暦の年は元年（1年）以上です: {text!r}")
        year = ERAS[era_index].first_year + eyear - 1
        return _build(era_index, year, month, day, qualifier, unknown, text)
    return _build(None, int(m["year"]), month, day, qualifier, unknown, text)


def _build(
    era_index: int | None,
    year: int,
    month: int | None,
    day: int | None,
    qualifier: DateQualifier,
    unknown: bool,
    text: str,
) -> JukiDate:
    if unknown and day is not None:
        # "1985年3月4日不詳": nothing is unknown, so the 不詳 is a mistake rather than information.
        raise _format_error(text)
    era = None
    if era_index is not None:
        _check_era_range(era_index, year, month, day, text)
        entered = ERAS[era_index]
        if day is None and _display_era(year, month, None, qualifier) != entered:
            era = entered.name
    return JukiDate(year, month, day, qualifier, text, era)


def parse_date(text: str) -> JukiDate:
    """Read a date as a municipality or an operator writes it; ``text`` of the result is the input.

    Accepted: canonical forms ("1985-03-04", "1985-03 上旬", "不詳"), ISO, "1985/3/4", "19850304",
    "1985年3月4日", 和暦 ("昭和60年3月4日", "平成元年1月8日", "S60.3.4", full-width digits), qualifiers
    上旬/中旬/下旬/頃/推定 and 不詳 forms ("1985年不詳", "昭和60年3月日不詳"). Raises
    :class:`DateParseError` (E_DATE_FORMAT, E_DATE_RANGE, E_DATE_ERA_RANGE).

    Bulk load calls this millions of times with ISO text: that shape takes a fast path, and results are
    memoised (the values are immutable, and birth and change dates repeat heavily).
    """
    return _parse_date(text)


@lru_cache(maxsize=1 << 16)
def _parse_date(text: str) -> JukiDate:
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        y, mo, d = text[:4], text[5:7], text[8:]
        if y.isdigit() and mo.isdigit() and d.isdigit():
            return JukiDate(int(y), int(mo), int(d), DateQualifier.NONE, text)
    return _slow_parse(text)


# ---------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------


def _tail(d: JukiDate, year_text: str) -> str:
    """Month/day/qualifier part shared by both display styles."""
    parts = [year_text, "年"]
    if d.month is not None:
        parts.append(f"{d.month}月")
        if d.day is not None:
            parts.append(f"{d.day}日")
    if d.qualifier:
        parts.append(d.qualifier.value)
    elif d.day is None:
        parts.append(DateQualifier.UNKNOWN.value)
    return "".join(parts)


def _bound(d: JukiDate, year_text: str) -> str:
    """One bound of a range: year and month only, without 不詳 (the range says the date is not exact)."""
    return f"{year_text}年" + (f"{d.month}月" if d.month is not None else "")


def _wareki_bound(d: JukiDate) -> str:
    assert d.year is not None
    era = _display_era(d.year, d.month, None, DateQualifier.NONE)
    if era is None:
        return _bound(d, str(d.year))
    n = d.year - era.first_year + 1
    return era.name + _bound(d, "元" if n == 1 else str(n))


def format_seireki(d: JukiDate) -> str:
    """西暦 display ("1985年3月4日", "1985年3月上旬", "1985年不詳", "不詳") — used for foreign residents."""
    if d.year is None:
        return DateQualifier.UNKNOWN.value
    if d.end_date is not None:
        return f"{_bound(d, str(d.year))}～{_bound(d.end_date, str(d.end_date.year))}"
    return _tail(d, str(d.year))


def _display_era(year: int, month: int | None, day: int | None, qualifier: DateQualifier) -> Era | None:
    """The era a date is shown in when nothing says otherwise: the one in force on its earliest
    possible day (a 旬 on its representative day)."""
    shown_day = day if day is not None else _TEN_DAY_SORT_DAY.get(qualifier, 1)
    return era_of(year, month or 1, shown_day)


def format_wareki(d: JukiDate) -> str:
    """和暦 display ("昭和60年3月4日", "平成元年1月8日", "昭和60年3月上旬", "昭和60年不詳", "不詳").

    A partial date is placed in the era in force on its earliest possible day (a 旬 uses its
    representative day), so 1989 alone is 昭和64年. Dates before 1873 fall back to 西暦.
    """
    if d.year is None:
        return DateQualifier.UNKNOWN.value
    if d.end_date is not None:
        return f"{_wareki_bound(d)}～{_wareki_bound(d.end_date)}"
    era = ERAS[_ERA_BY_NAME[d.era]] if d.era else _display_era(d.year, d.month, d.day, d.qualifier)
    if era is None:
        return format_seireki(d)
    n = d.year - era.first_year + 1
    return era.name + _tail(d, "元" if n == 1 else str(n))


# ---------------------------------------------------------------------------------------------
# Operator entry
# ---------------------------------------------------------------------------------------------

#: 元号コード as clerks key dates in resident-register systems: 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和
#: (the order of :data:`ERAS`), then YYMMDD; "00" is an unknown month or day.
_ERA_CODE_RE: Final = re.compile(r"([1-9])(\d{2})(\d{2})(\d{2})", re.ASCII)


def parse_entered_date(text: str) -> JukiDate:
    """A date as an operator types it: everything :func:`parse_date` reads, and the 元号コード form
    ``3500926`` (= 昭和50年9月26日; ``3500900`` = 昭和50年9月, ``3500000`` = 昭和50年).

    Only operator input reads the 7-digit form: a notification's dates keep the forms of
    docs/notifications.md. Raises :class:`DateParseError` like :func:`parse_date`.
    """
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    m = _ERA_CODE_RE.fullmatch(folded)
    if m is None:
        return parse_date(text)
    code, year, month, day = (int(g) for g in m.groups())
    if code > len(ERAS):
        raise DateParseError(
            "E_DATE_FORMAT",
            f"元号コードは1（明治）～{len(ERAS)}（{ERAS[-1].name}）です: {text!r}",
        )
    if month == 0 and day != 0:
        raise _format_error(text)
    spelled = f"{ERAS[code - 1].name}{year}年" + (f"{month}月" if month else "") + (f"{day}日" if day else "")
    try:
        parsed = parse_date(spelled)
    except DateParseError as exc:  # name what was typed, not the spelling made of it
        raise DateParseError(exc.code, exc.message.replace(repr(spelled), repr(text))) from None
    return JukiDate(parsed.year, parsed.month, parsed.day, parsed.qualifier, text, parsed.era, parsed.end)


def calendar_warning(d: JukiDate) -> str | None:
    """The operator's warning for a full date that is not on the calendar (2月30日, 平成31年2月29日).

    Such a date is allowed — an old 戸籍 may record one, and the register keeps it as recorded — but
    an operator who typed it by mistake must be told (None for a calendar or partial date)."""
    if d.day is None or d.is_calendar_date:
        return None
    shown = f"{format_wareki(d)}（{d.canonical()}）"
    return f"{shown}は暦にない日付です。古い記録のとおりであればそのまま検索できます"
