"""The thresholds of the review's unusual patterns, read from a settings file (S-17, S-18).

The defaults ship as `juki/data/audit_patterns.toml`; a prefecture sets its own by pointing
``JUKI_AUDIT_PATTERNS`` (Settings.audit_patterns_file) at a copy. Unknown sections or keys, and
values of the wrong type, stop the loader with a message naming them: a typo must never switch a
pattern off silently. docs/audit-review.md explains each value and its default.

Days off are judged here, in Python, and handed to the SQL as a list of dates: Japanese public
holidays come from `jpholiday` (a maintained library that follows the 国民の祝日に関する法律,
振替休日 and 国民の休日 included), the year-end closure and the prefecture's own days off from
the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jpholiday

__all__ = ["PatternThresholds", "days_off", "load_thresholds", "parse_thresholds"]

_WEEKDAY_NAMES: Final = {6: "土曜日", 7: "日曜日"}


@dataclass(frozen=True)
class PatternThresholds:
    """Where "unusual" begins; every value is the prefecture's to set (audit_patterns.toml)."""

    max_per_day: int = 500  # personal-data operations by one operator in one day
    volume_factor: float = 5.0  # … or more than this many times the median operator-day
    volume_min: int = 50  # … but only from this many on (a median of 2 makes 11 unremarkable)
    work_start: time = time(8, 0)
    work_end: time = time(20, 0)
    weekends_off: bool = True
    public_holidays: bool = True  # Japanese public holidays (jpholiday) are days off
    closed_days: frozenset[tuple[int, int]] = frozenset({(12, 29), (12, 30), (12, 31), (1, 2), (1, 3)})
    holidays: frozenset[date] = frozenset()  # further days off of the prefecture
    utc_offset: timedelta = timedelta(hours=9)  # JST
    repeat_target: int = 5  # looks at one person by one operator …
    repeat_window: timedelta = timedelta(minutes=10)  # … within this long
    bulk_distinct: int = 300  # distinct persons shown to one operator in one day
    repeat_deny: int = 3  # denies for one operator in one day
    repeat_failure: int = 5  # sign-in failures for one login in one day
    source: str = field(default="(built-in defaults)", compare=False)  # where the values came from


def days_off(thresholds: PatternThresholds, first: date, last: date) -> dict[date, str]:
    """Every day off in [first, last] with its name in Japanese (祝日の名称, 土曜日, 年末年始, …)."""
    found: dict[date, str] = {}
    if last < first:
        return found
    if thresholds.public_holidays:
        found.update(jpholiday.between(first, last))
    day = first
    while day <= last:
        if day not in found:
            if (day.month, day.day) in thresholds.closed_days:
                found[day] = "年末年始の休日"
            elif day in thresholds.holidays:
                found[day] = "指定された休日"
            elif thresholds.weekends_off and day.isoweekday() in _WEEKDAY_NAMES:
                found[day] = _WEEKDAY_NAMES[day.isoweekday()]
        day += timedelta(days=1)
    return found


# section → key → (field of PatternThresholds, reader)
def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("a whole number of at least 1")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError("a positive number")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _clock(value: Any) -> time:
    if not isinstance(value, str):
        raise ValueError('a time "HH:MM"')
    return datetime.strptime(value, "%H:%M").time()


def _minutes(value: Any) -> timedelta:
    return timedelta(minutes=_int(value))


def _offset(value: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int) or not -840 <= value <= 840:
        raise ValueError("minutes east of UTC, -840..840")
    return timedelta(minutes=value)


def _month_days(value: Any) -> frozenset[tuple[int, int]]:
    if not isinstance(value, list):
        raise ValueError('a list of "MM-DD"')
    out: set[tuple[int, int]] = set()
    for item in value:
        parsed = datetime.strptime(f"2000-{item}", "%Y-%m-%d")  # 2000: a leap year, so 02-29 reads
        out.add((parsed.month, parsed.day))
    return frozenset(out)


def _dates(value: Any) -> frozenset[date]:
    if not isinstance(value, list) or not all(isinstance(v, (str, date)) for v in value):
        raise ValueError('a list of "YYYY-MM-DD"')
    return frozenset(v if isinstance(v, date) else date.fromisoformat(v) for v in value)


_KEYS: Final[Mapping[str, Mapping[str, tuple[str, Any]]]] = {
    "hours": {
        "utc_offset_minutes": ("utc_offset", _offset),
        "work_start": ("work_start", _clock),
        "work_end": ("work_end", _clock),
    },
    "days": {
        "weekends_off": ("weekends_off", _bool),
        "public_holidays": ("public_holidays", _bool),
        "closed_days": ("closed_days", _month_days),
        "extra_days_off": ("holidays", _dates),
    },
    "volume": {
        "max_per_day": ("max_per_day", _int),
        "factor": ("volume_factor", _float),
        "minimum": ("volume_min", _int),
    },
    "repeated_target": {"count": ("repeat_target", _int), "window_minutes": ("repeat_window", _minutes)},
    "bulk_browsing": {"distinct_persons_per_day": ("bulk_distinct", _int)},
    "refusals": {
        "denies_per_day": ("repeat_deny", _int),
        "sign_in_failures_per_day": ("repeat_failure", _int),
    },
}


def parse_thresholds(text: str, source: str = "(text)") -> PatternThresholds:
    """Thresholds from a settings text; keys left out keep their defaults. ValueError names any
    unknown section or key and any value of the wrong type."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{source}: not valid TOML ({error})") from None
    values: dict[str, Any] = {}
    for section, keys in data.items():
        known = _KEYS.get(section)
        if known is None or not isinstance(keys, dict):
            raise ValueError(f"{source}: unknown section [{section}]")
        for key, value in keys.items():
            if key not in known:
                raise ValueError(f"{source}: unknown key {section}.{key}")
            name, read = known[key]
            try:
                values[name] = read(value)
            except (ValueError, TypeError) as error:
                raise ValueError(f"{source}: {section}.{key} must be {error}") from None
    thresholds = PatternThresholds(**values, source=source)
    if thresholds.work_end <= thresholds.work_start:
        raise ValueError(f"{source}: hours.work_end must be later than hours.work_start")
    return thresholds


def load_thresholds(path: Path | None = None) -> PatternThresholds:
    """The thresholds of `path` (Settings.audit_patterns_file), else the shipped defaults."""
    if path is None:
        text = resources.files("juki.data").joinpath("audit_patterns.toml").read_text(encoding="utf-8")
        return parse_thresholds(text, "juki/data/audit_patterns.toml")
    return parse_thresholds(path.read_text(encoding="utf-8"), str(path))
