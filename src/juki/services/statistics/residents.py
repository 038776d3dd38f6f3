"""Statistics of residents from the file and its history (F1-8): the population in effect on the
as-of date by municipality, sex and five-year age band, and the movements per month by 異動事由 and
municipality — in one statement (one pass over the current table, one over the history).

*Which date decides.* A version is in effect from its 異動年月日 (D1-11 / D2-12), the day the
event happened in the register, not from the day we recorded it: a 転入 of 31 December notified on
6 January belongs to the population of 1 January. So "as of D" is, for every person, the version
with the highest version number among those whose 異動年月日 is on or before D — what the register
would have shown on D had every notification of an event up to D arrived. A figure for a past day
can therefore still change when a late notification arrives, which is what a register-based
statistic should do. Partial 異動年月日 compare by their known part (``1985-03`` counts from
1985-03-01, the order JukiDate.sort_key uses); a wholly unknown one (不詳) counts from the day it
was notified. The answer is exact back to the oldest version the file holds: a person loaded
without earlier history counts only from that version's 異動年月日.

*Fast path.* The current version is the highest, so a person whose current 異動年月日 is on or
before D is in it; only persons whose current version began after D need the history, and those
are joined in. The whole result is one GROUP BY GROUPING SETS over both, so the 10M-person file is
read once per table.

*Ages* are completed years on the as-of date from the stored birth key (YYYYMMDD of JukiDate):
(as_of − birth) div 10000, which is the 年齢計算ニ関スル法律 count (a person is a year older on
their birthday; 29 February births on 1 March in other years). A birth date without a known month
or day (年のみ, 年月のみ, 不詳, ranges), or after the as-of date, is in the explicit 不詳 band: such
a person's five-year band cannot be told from the register. 上旬/中旬/下旬 count as the 5th/15th/25th.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from juki.files import FileSpec
from juki.services.statistics.request import BAND_YEARS, OPEN_BAND, UNKNOWN_BAND, StatsRequest


@dataclass(frozen=True)
class ResidentCounts:
    """The raw cells: population[(municipality, sex, band)] and movements[(month, reason, municipality)]."""

    population: dict[tuple[str, str, int], int]
    movements: dict[tuple[str, str, str], int]


def _effective(alias: str) -> str:
    """The day a version takes effect, as comparable text (C collation: '1985-03' < '1985-03-01')."""
    return (
        f"(CASE WHEN {alias}.change_date = '不詳' THEN to_char({alias}.notified_on, 'YYYY-MM-DD')"
        f' ELSE {alias}.change_date END) COLLATE "C"'
    )


def _band(alias: str) -> str:
    """The age band index of a row on the as-of date (%(as_of_key)s), 不詳 = UNKNOWN_BAND."""
    b = f"{alias}.birth_key"
    return (
        f"CASE WHEN {b} %% 100 = 0 OR {b} / 100 %% 100 = 0 OR {b} > %(as_of_key)s THEN {UNKNOWN_BAND}"
        f" ELSE LEAST((%(as_of_key)s - {b}) / 10000 / {BAND_YEARS}, {OPEN_BAND}) END"
    )


def _in_states(alias: str, states: frozenset[str] | None) -> str:
    if states is None:
        return "true"
    listed = ", ".join(f"'{s}'" for s in sorted(states))
    return f"{alias}.status IN ({listed})"


def resident_sql(spec: FileSpec) -> str:
    """The one statement behind the resident tables of ``spec`` (parameters: as_of, as_of_key,
    first_month, end_month). Rows: (set, municipality, sex, band, month, reason, persons, moves);
    set is non-zero for a population cell (month and reason rolled up), 0 for a movement cell."""
    subject = spec.statistics_subject
    population_states = spec.present_statuses if subject is None else spec.present_statuses & subject
    m = spec.municipality_column
    present_c = _in_states("c", population_states)
    present_b = _in_states("b", population_states)
    moved_c = _in_states("c", subject)
    moved_h = _in_states("h", subject)
    window = '{a}.change_date COLLATE "C" >= %(first_month)s AND {a}.change_date COLLATE "C" < %(end_month)s'
    return f"""
SELECT GROUPING(month, reason) AS population_set, municipality, sex, band, month, reason,
       count(*) FILTER (WHERE counted) AS persons, count(*) FILTER (WHERE moved) AS moves
FROM (
  SELECT c.{m} AS municipality, c.sex, {_band("c")} AS band,
         left(c.change_date, 7) AS month, c.change_reason AS reason,
         CASE WHEN {_effective("c")} <= %(as_of)s THEN {present_c} ELSE false END AS counted,
         ({window.format(a="c")} AND {moved_c}) AS moved
  FROM {spec.current} c
  UNION ALL
  SELECT h.{m}, h.sex, 0, left(h.change_date, 7), h.change_reason, false, {moved_h}
  FROM {spec.history} h
  WHERE {window.format(a="h")}
  UNION ALL
  SELECT b.{m}, b.sex, {_band("b")}, '', '', {present_b}, false
  FROM (
    SELECT DISTINCT ON (h.juminhyo_code) h.*
    FROM {spec.history} h JOIN {spec.current} c USING (juminhyo_code)
    WHERE {_effective("c")} > %(as_of)s AND {_effective("h")} <= %(as_of)s
    ORDER BY h.juminhyo_code, h.version DESC
  ) b
) v
GROUP BY GROUPING SETS ((municipality, sex, band), (month, reason, municipality))
"""


def resident_counts(conn: psycopg.Connection[Any], spec: FileSpec, request: StatsRequest) -> ResidentCounts:
    """Population and movement cells of ``spec`` for ``request`` (a connection as the file's role)."""
    params = {
        "as_of": request.as_of.isoformat(),
        "as_of_key": request.as_of_key,
        "first_month": request.first_month.isoformat()[:7],
        "end_month": request.end_month.isoformat()[:7],
    }
    population: dict[tuple[str, str, int], int] = {}
    movements: dict[tuple[str, str, str], int] = {}
    rows = conn.execute(resident_sql(spec), params).fetchall()
    for population_set, municipality, sex, band, month, reason, persons, moves in rows:
        if population_set:  # month and reason are rolled up: a population cell
            if persons:
                population[(municipality, sex, int(band))] = int(persons)
        elif moves:
            movements[(month, reason, municipality)] = int(moves)
    return ResidentCounts(population, movements)
