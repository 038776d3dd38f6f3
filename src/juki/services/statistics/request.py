"""What a statistics run is asked for: the file, the as-of date and the periods it covers (F1-8).

One as-of date decides every table: the population is the one in effect on that day, the monthly
tables cover the twelve months ending with its month, the daily table the 31 days ending with it.
A fixed shape keeps the page, the exports and `juki stats` showing the same tables for the same
question, and keeps one operation-log row describing exactly what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from juki.domain.lgcodes import DEFAULT_PREFECTURE, LgTable, for_prefecture
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal

#: Months of the monthly tables (movements, rejections, J-LIS queries), ending with the as-of month.
MONTHS: Final = 12
#: Days of the daily table (updates per municipality and day), ending with the as-of date.
DAYS: Final = 31
#: Five-year age bands 0–4 … 95–99, then "100 and over" (index 20), then 不詳 (UNKNOWN_BAND).
BAND_YEARS: Final = 5
OPEN_BAND: Final = 20
UNKNOWN_BAND: Final = -1
#: The earliest as-of date accepted: nothing in a register predates the 住民基本台帳法 (1967).
EARLIEST: Final = date(1967, 1, 1)


def band_label(band: int) -> str:
    """The Japanese label of an age band index (``UNKNOWN_BAND`` → 不詳)."""
    if band == UNKNOWN_BAND:
        return "不詳"
    if band >= OPEN_BAND:
        return f"{OPEN_BAND * BAND_YEARS}歳以上"
    return f"{band * BAND_YEARS}〜{band * BAND_YEARS + BAND_YEARS - 1}歳"


def all_bands() -> tuple[int, ...]:
    """Every band index in display order, 不詳 last."""
    return (*range(OPEN_BAND + 1), UNKNOWN_BAND)


def _month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


@dataclass(frozen=True)
class StatsRequest:
    """A statistics question: ``file`` as of ``as_of``, of the prefecture ``prefecture`` serves
    (``Settings.prefecture``: its code table names and orders the municipalities and wards)."""

    file: FileKind
    as_of: date
    prefecture: str = DEFAULT_PREFECTURE

    @property
    def lg_table(self) -> LgTable:
        """The prefecture's 地方公共団体コード table."""
        return for_prefecture(self.prefecture)

    @classmethod
    def parse(
        cls, file: FileKind, text: str, *, today: date, prefecture: str = DEFAULT_PREFECTURE
    ) -> StatsRequest:
        """The request for an as-of date typed as YYYY-MM-DD; T_STATS_DATE when it is not a date
        between 1967-01-01 and ``today``."""
        value = text.strip()
        try:
            as_of = date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
        except ValueError:
            as_of = None
        if as_of is None or not EARLIEST <= as_of <= today:
            raise Refusal(
                "T_STATS_DATE",
                f"基準日は {EARLIEST.isoformat()} から本日までの日付を YYYY-MM-DD で指定してください",
            )
        return cls(file, as_of, prefecture)

    @property
    def first_month(self) -> date:
        """The first day of the first month of the monthly tables."""
        return _month_start(self.as_of, MONTHS - 1)

    @property
    def end_month(self) -> date:
        """The first day of the month after the as-of month (exclusive end of the monthly tables)."""
        return _month_start(self.as_of, -1)

    @property
    def months(self) -> tuple[str, ...]:
        """The months of the monthly tables as YYYY-MM, oldest first."""
        return tuple(_month_start(self.as_of, back).isoformat()[:7] for back in range(MONTHS - 1, -1, -1))

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=DAYS - 1)

    @property
    def days(self) -> tuple[date, ...]:
        """The days of the daily table, oldest first."""
        return tuple(self.first_day + timedelta(days=i) for i in range(DAYS))

    @property
    def as_of_key(self) -> int:
        """The as-of date as YYYYMMDD, the form of the stored birth keys (JukiDate.sort_key)."""
        return self.as_of.year * 10000 + self.as_of.month * 100 + self.as_of.day
