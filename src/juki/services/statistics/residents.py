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
are found through the 異動年月日 index and joined to the history. Three statements: the population
of the persons whose current version is in effect (an index-only scan of the covering index of
migration 0047, the only part that reads every person), the population of the others from the
history, and the months' movements (range scans of the 異動年月日 indexes). Architecture notes
84–86 give the measurements.

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


def _in_effect(alias: str) -> str:
    """The version took effect on or before the as-of date (%(as_of)s text, %(as_of_date)s date).

    Compared as text in C collation: a partial date is its known part ('1985-03' < '1985-03-01'),
    and '不詳' sorts after every digit, so it is caught by the second branch (the day notified)."""
    return (
        f'({alias}.change_date COLLATE "C" <= %(as_of)s'
        f" OR ({alias}.change_date = '不詳' AND {alias}.notified_on <= %(as_of_date)s))"
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


def _in_window(alias: str) -> str:
    """The 異動年月日 falls in the months of the monthly tables (%(first_month)s ≤ month < %(end_month)s)."""
    column = f'{alias}.change_date COLLATE "C"'
    return f"({column} >= %(first_month)s AND {column} < %(end_month)s)"


def _population_states(spec: FileSpec) -> frozenset[str]:
    subject = spec.statistics_subject
    return spec.present_statuses if subject is None else spec.present_statuses & subject


def population_sql(spec: FileSpec) -> str:
    """Population cells of the persons whose current version is in effect on the as-of date
    (parameters: as_of, as_of_date, as_of_key). Rows: (municipality, sex, band, persons).

    The bulk of the work: every present person of the file. A plain GROUP BY of a few thousand
    groups over the covering index of migration 0047 (an index-only scan of the seven columns read,
    in parallel when the planner sees fit), with nothing else in the statement: a movement column
    in the same aggregate made every person carry two more grouping keys and two filters, and the
    hash table twenty times larger (EXPLAIN in architecture notes 84)."""
    m = spec.municipality_column
    return f"""
SELECT c.{m}, c.sex, {_band("c")} AS band, count(*)
FROM {spec.current} c
WHERE {_in_effect("c")} AND {_in_states("c", _population_states(spec))}
GROUP BY 1, 2, 3
"""


def movement_sql(spec: FileSpec) -> str:
    """Movement cells: every version (current or history) whose 異動年月日 falls in the months of
    the monthly tables (parameters: first_month, end_month). Rows: (month, reason, municipality,
    moves). Both sides are range scans of the C-collation 異動年月日 indexes (0036, 0047)."""
    subject = spec.statistics_subject
    m = spec.municipality_column
    return f"""
SELECT left(v.change_date, 7), v.change_reason, v.municipality, count(*)
FROM (
  SELECT c.change_date, c.change_reason, c.{m} AS municipality
  FROM {spec.current} c
  WHERE {_in_window("c")} AND {_in_states("c", subject)}
  UNION ALL
  SELECT h.change_date, h.change_reason, h.{m}
  FROM {spec.history} h
  WHERE {_in_window("h")} AND {_in_states("h", subject)}
) v
GROUP BY 1, 2, 3
"""


def earlier_versions_sql(spec: FileSpec) -> str:
    """Population cells of the persons whose current version began after the as-of date: the
    history version in effect then. A statement of its own, so that each of the two can run as a
    parallel plan (a Gather cannot sit inside another parallel plan). Rows: (municipality, sex,
    band, persons)."""
    m = spec.municipality_column
    return f"""
SELECT b.{m}, b.sex, {_band("b")} AS band, count(*)
FROM (
  SELECT DISTINCT ON (h.juminhyo_code) h.{m}, h.sex, h.birth_key, h.status
  FROM {spec.history} h JOIN {spec.current} c USING (juminhyo_code)
  WHERE NOT {_in_effect("c")} AND {_in_effect("h")}
  ORDER BY h.juminhyo_code, h.version DESC
) b
WHERE {_in_states("b", _population_states(spec))}
GROUP BY 1, 2, 3
"""


def resident_counts(conn: psycopg.Connection[Any], spec: FileSpec, request: StatsRequest) -> ResidentCounts:
    """Population and movement cells of ``spec`` for ``request`` (a connection as the file's role)."""
    params = {
        "as_of": request.as_of.isoformat(),
        "as_of_date": request.as_of,
        "as_of_key": request.as_of_key,
        "first_month": request.first_month.isoformat()[:7],
        "end_month": request.end_month.isoformat()[:7],
    }
    population: dict[tuple[str, str, int], int] = {}
    movements: dict[tuple[str, str, str], int] = {}
    with conn.transaction():
        _plan_for_statistics(conn)
        for sql in (population_sql(spec), earlier_versions_sql(spec)):
            for municipality, sex, band, persons in conn.execute(sql, params).fetchall():
                key = (municipality, sex, int(band))
                population[key] = population.get(key, 0) + int(persons)
        for month, reason, municipality, moves in conn.execute(movement_sql(spec), params).fetchall():
            movements[(month, reason, municipality)] = int(moves)
    return ResidentCounts(population, movements)


def _plan_for_statistics(conn: psycopg.Connection[Any]) -> None:
    """Planner settings for the statistics statements only (SET LOCAL: gone at the end of the
    transaction). With the default random_page_cost of 4 the planner prices the index-only scan of
    the covering index (a quarter of the heap's pages, read in key order) above a sequential scan of
    the whole table; 1.1 is the usual figure for data in memory or on SSD, where a page read in
    index order costs about as much as one read in table order."""
    conn.execute("SET LOCAL random_page_cost = 1.1")
