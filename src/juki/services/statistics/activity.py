"""Counts of the server's own work (REC-10, F1-8): updates accepted per municipality and day,
rejected notifications by error code and month, and queries to J-LIS by month, key and outcome.

These count records the server keeps about what it did (the notification inbox, the J-LIS
communication records of migration 0007), not attributes of residents, so they are kept for File 2
as well (REC-10 asks for update counts of both servers); File 2's resident statistics stay limited
to 国外転出者 in `residents`.

Here the recorded time decides, not the 異動年月日: an update is counted on the day the server
received it, in Japan time (the office's day), because these tables describe the server's workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from juki.files import FileSpec
from juki.services.statistics.request import StatsRequest

_LOCAL_DAY = "(({column} AT TIME ZONE 'Asia/Tokyo')::date)"


@dataclass(frozen=True)
class ActivityCounts:
    """updates[(municipality, day)], rejections[(error_code, month)], jlis[(month, kind, outcome)]."""

    updates: dict[tuple[str, str], int]
    rejections: dict[tuple[str, str], int]
    jlis: dict[tuple[str, str, str], int]


def activity_counts(conn: psycopg.Connection[Any], spec: FileSpec, request: StatsRequest) -> ActivityCounts:
    """The activity cells of ``spec`` for ``request`` (a connection as the file's role)."""
    day = _LOCAL_DAY.format(column="received_at")
    params = {
        "first_day": request.first_day,
        "first_month": request.first_month,
        "end_month": request.end_month,
        "as_of": request.as_of,
    }
    # One pass over the inbox for both of its tables: accepted by day, rejected by month.
    rows = conn.execute(
        f"""
SELECT GROUPING(municipality_code, d) AS rejection_set, municipality_code, d::text, error_code, month,
       count(*) FILTER (WHERE status = 'accepted' AND d >= %(first_day)s) AS accepted,
       count(*) FILTER (WHERE status = 'rejected') AS rejected
FROM (SELECT coalesce(municipality_code, '') AS municipality_code, status, error_code,
             {day} AS d, to_char({day}, 'YYYY-MM') AS month
      FROM {spec.inbox}
      WHERE {day} >= %(first_month)s AND {day} <= %(as_of)s) i
GROUP BY GROUPING SETS ((municipality_code, d), (error_code, month))
""",
        params,
    ).fetchall()
    updates: dict[tuple[str, str], int] = {}
    rejections: dict[tuple[str, str], int] = {}
    for rejection_set, municipality, d, error_code, month, accepted, rejected in rows:
        if rejection_set:
            if rejected:
                rejections[(error_code or "", month)] = int(rejected)
        elif accepted:
            updates[(municipality, d)] = int(accepted)
    started = _LOCAL_DAY.format(column="started_at")
    jlis = {
        (str(month), str(kind), str(outcome)): int(n)
        for month, kind, outcome, n in conn.execute(
            f"""
SELECT to_char({started}, 'YYYY-MM') AS month, kind, outcome, count(*)
FROM {spec.jlis_query_log}
WHERE {started} >= %(first_month)s AND {started} <= %(as_of)s
GROUP BY 1, 2, 3
""",
            params,
        ).fetchall()
    }
    return ActivityCounts(updates, rejections, jlis)
