"""`juki bench stats`: the full set of statistics tables for one as-of date (F1-8, REC-10).

The benchmark runs on the benchmark database (loading the synthetic population with the ordinary
loader when it holds fewer persons than asked for) and times, for each as-of date:

* **Ours**: the whole service as the terminal calls it — every table (population in effect on the
  date from the current table and the history, movements per month, updates per day, rejections,
  J-LIS queries), the roll-ups into cities and the prefecture, and the operation-log row.
* **Baseline**, in the same run: the plain SQL floor of the same aggregation — one GROUP BY of the
  current table by municipality, sex and age band, with no history, no other table, no service.

Each is run once untimed (so both read warm pages), then ``repeat`` times alternately; the JSON
reports the median of each, their ratio (baseline ÷ ours: 1.0 = as fast as the floor), peak RSS and
the machine. Target: the full set for a date in ≤ 10 s at 10M persons.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Final

from juki.domain.records import FileKind
from juki.files import PREF, file_spec
from juki.services.access.actor import Actor, TerminalKind
from juki.services.statistics.request import StatsRequest
from juki.services.statistics.service import statistics_report
from juki.store.db import Database
from juki.tools.bench.registry import bench_load, machine, peak_rss_mib

__all__ = ["DEFAULT_DATES", "bench_stats"]

#: A day just before the synthetic population's date, and one deep in its history.
DEFAULT_DATES: Final = (date(2026, 9, 30), date(2025, 1, 1))
TARGET_SECONDS: Final = 10.0


def _bench_actor() -> Actor:
    """The benchmark's 統計担当: no session, logged through the "bench" system channel."""
    return Actor(
        operator_id=0,
        login="bench",
        roles=frozenset({"statistics"}),
        terminal_id=0,
        terminal_name="bench",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        session_id=None,
        system="bench",
    )


def _baseline_sql(file: FileKind) -> str:
    spec = file_spec(file)
    return f"""
SELECT {spec.municipality_column}, sex,
       CASE WHEN birth_key %% 100 = 0 OR birth_key / 100 %% 100 = 0 THEN -1
            ELSE LEAST((%(key)s - birth_key) / 50000, 20) END AS band,
       count(*)
FROM {spec.current}
WHERE {spec.present_sql}
GROUP BY 1, 2, 3"""


def bench_stats(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int = 1,
    file: FileKind = FileKind.PREF,
    dates: tuple[date, ...] = DEFAULT_DATES,
    repeat: int = 3,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Run the statistics benchmark; returns the JSON object `juki bench stats` prints."""
    spec = file_spec(file)
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    loaded = int(row[0]) if row else 0
    if loaded < persons:
        bench_load(db, work_dir, persons, seed, progress)
        loaded = persons
    with db.connect(autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {spec.current}")
        conn.execute(f"VACUUM ANALYZE {spec.history}")
        counted = conn.execute(
            f"SELECT (SELECT count(*) FROM {spec.current}), (SELECT count(*) FROM {spec.history})"
        ).fetchone()
    assert counted is not None
    actor = _bench_actor()
    runs: list[dict[str, Any]] = []
    with db.connect(spec.db_role, autocommit=True) as conn:
        for day in dates:
            request = StatsRequest(file, day)
            key = {"key": request.as_of_key}

            def ours() -> tuple[float, int]:
                t0 = time.perf_counter()
                report = statistics_report(conn, actor, request, output="json")  # noqa: B023
                people = int(report.table("population_by_municipality").rows[-1][-1])
                return time.perf_counter() - t0, people

            def baseline() -> float:
                t0 = time.perf_counter()
                conn.execute(_baseline_sql(file), key).fetchall()  # noqa: B023
                return time.perf_counter() - t0

            ours()
            baseline()  # warm-up: both read the same pages before anything is timed
            mine: list[float] = []
            base: list[float] = []
            population = 0
            for i in range(repeat):
                if i % 2:
                    base.append(baseline())
                    seconds, population = ours()
                else:
                    seconds, population = ours()
                    base.append(baseline())
                mine.append(seconds)
                if progress:
                    progress("stats", len(runs) * repeat + i + 1)
            median, base_median = statistics.median(mine), statistics.median(base)
            runs.append(
                {
                    "as_of": day.isoformat(),
                    "population": population,
                    "seconds": round(median, 6),
                    "all_seconds": [round(s, 6) for s in mine],
                    "baseline_seconds": round(base_median, 6),
                    "ratio": round(base_median / median, 3),
                    "meets_target": median <= TARGET_SECONDS,
                }
            )
    return {
        "benchmark": "stats",
        "file": file.value,
        "persons": loaded,
        "rows_current": int(counted[0]),
        "rows_history": int(counted[1]),
        "repeat": repeat,
        "runs": runs,
        "seconds": max(r["seconds"] for r in runs),
        "baseline": "one GROUP BY of the current table by municipality, sex and age band (no history)",
        "peak_rss_mib": peak_rss_mib(),
        "target": {"seconds": TARGET_SECONDS},
        "machine": machine(),
    }
