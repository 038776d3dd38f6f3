"""Change streams that fit the database a benchmark runs on, and the check that the work was done.

A benchmark of the update path is only worth its figure when the notifications it sends are new
work for *this* database: a stream regenerated from the synthetic population of a seed answers
``duplicate`` on a second run, and ``rejected`` on a database loaded with another seed, and both are
far cheaper than an accepted change. So:

* :func:`next_stream` picks a stream number no notification in either inbox carries yet (the
  synthetic notification ids are ``<municipality>-<stream>-<seq>``), so ids are fresh and the
  persons the stream creates get index ranges no earlier stream used;
* :func:`draw_current` reads a random sample of the persons stored *now* (File 1 row joined with
  its File 2 row, as CSV-ordered text) and :func:`fitting_stream` generates the stream against those
  rows — so a second run changes the persons as the first run left them, and ``--seed`` only varies
  the sample and the stream;
* :func:`require_work` refuses a run whose accepted share falls below 95 % of what the stream
  intended (every item of a stream says what the server must answer): the benchmark raises
  :class:`BenchmarkInvalid` with a clear message instead of reporting a figure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import orjson

from juki.domain.records import FUHYO_CSV_COLUMNS, PREF_CSV_COLUMNS
from juki.files import FUHYO, PREF, all_files
from juki.store.db import Database
from juki.synth.changes import ACCEPTED, SynthChange, generate_changes
from juki.synth.population import POPULATION_AS_OF

__all__ = [
    "MIN_SHARE_OF_INTENDED",
    "BenchmarkInvalid",
    "FittingStream",
    "draw_current",
    "fitting_stream",
    "next_stream",
    "require_work",
]

#: A run must get at least this share of the accepted items its stream intends.
MIN_SHARE_OF_INTENDED = 0.95
#: Streams of benchmarks start here (tests and demos use the low numbers).
FIRST_BENCH_STREAM = 1000
_MAX_STREAM = 9999

Row = tuple[list[str], list[str] | None]
_CHANGE_DATE = PREF_CSV_COLUMNS.index("change_date")
_BIRTH_DATE = PREF_CSV_COLUMNS.index("birth_date")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BenchmarkInvalid(RuntimeError):
    """The benchmark's stream did not measure the work it claims: no figure is reported."""


@dataclass
class FittingStream:
    """Numbered lines of a stream drawn from the current file, and what each should get."""

    stream: int
    changes: list[SynthChange]
    sample: int = 0
    intended: Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        self.intended = Counter(c.expect for c in self.changes)

    @property
    def lines(self) -> list[tuple[int, bytes]]:
        return [
            (i + 1, c.raw_line if c.raw_line is not None else orjson.dumps(c.notification))
            for i, c in enumerate(self.changes)
        ]

    @property
    def intended_accepted(self) -> int:
        return self.intended.get(ACCEPTED, 0)


def next_stream(db: Database) -> int:
    """A stream number no notification in either inbox uses yet (≥ :data:`FIRST_BENCH_STREAM`)."""
    parts = " UNION ALL ".join(
        f"SELECT max(split_part(notification_id, '-', 2)::int) AS s FROM {spec.inbox}"
        f" WHERE notification_id ~ '^[0-9]{{6}}-[0-9]{{1,4}}-[0-9]+$'"
        for spec in all_files()
    )
    with db.connect() as conn:
        row = conn.execute(f"SELECT coalesce(max(s), 0) FROM ({parts}) AS t").fetchone()
    last = int(row[0]) if row and row[0] is not None else 0
    stream = max(last + 1, FIRST_BENCH_STREAM)
    if stream > _MAX_STREAM:
        raise BenchmarkInvalid(
            f"the benchmark database has used every stream number up to {_MAX_STREAM}: "
            "reload it (juki bench load) before measuring again"
        )
    return stream


def stored_persons(db: Database) -> int:
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    return int(row[0]) if row else 0


def draw_current(db: Database, size: int, seed: int, stream: int) -> list[Row]:
    """About ``size`` persons sampled at random from the stored File 1, each with its current File 1
    row and File 2 row (or None), as CSV-ordered text — the state the stream starts from."""
    stored = stored_persons(db)
    if stored == 0:
        return []
    percent = min(100.0, 100.0 * size * 1.25 / stored)
    pcols = ", ".join(f"coalesce(p.{c}::text, '')" for c in PREF_CSV_COLUMNS)
    fcols = ", ".join(f"coalesce(f.{c}::text, '')" for c in FUHYO_CSV_COLUMNS)
    query = (
        f"SELECT ARRAY[{pcols}], CASE WHEN f.juminhyo_code IS NULL THEN NULL ELSE ARRAY[{fcols}] END"
        f"  FROM {PREF.current} AS p TABLESAMPLE BERNOULLI (%s) REPEATABLE (%s)"
        f"  LEFT JOIN {FUHYO.current} AS f USING (juminhyo_code)"
        "  LIMIT %s"
    )
    with db.connect() as conn:
        rows = conn.execute(query, (percent, seed * 10_007 + stream, size)).fetchall()
    return [(list(p), list(f) if f is not None else None) for p, f in rows]


def fitting_stream(
    db: Database, seed: int, count: int, *, stream: int | None = None, invalid_share: float = 0.0
) -> FittingStream:
    """``count`` items of a fresh stream drawn from the persons stored now (see the module doc)."""
    stream = next_stream(db) if stream is None else stream
    stored = stored_persons(db)
    if stored == 0:
        raise BenchmarkInvalid("the benchmark database holds no persons: load it first")
    sample = draw_current(db, max(2 * count, 5_000), seed, stream)
    # ``persons`` = the records stored: the stream's new persons then get indices beyond every
    # population index and every earlier stream's range (their streams had lower numbers).
    # Dates: from the latest date among the drawn rows (a change may not precede a birth or the last
    # change, e.g. of a person an earlier run created) to today, the business date of receipt.
    today = date.today()
    latest = max(
        (v for p, _ in sample for v in (p[_CHANGE_DATE], p[_BIRTH_DATE]) if _ISO_DATE.fullmatch(v)),
        default=POPULATION_AS_OF.isoformat(),
    )
    starts_on = min(date.fromisoformat(latest), today)
    changes = generate_changes(
        stored,
        seed,
        count,
        stream=stream,
        invalid_share=invalid_share,
        current=sample,
        starts_on=starts_on,
        received_on=today,
        prefecture=db.settings.prefecture,
    )
    return FittingStream(stream, list(changes), len(sample))


def require_work(benchmark: str, outcomes: Mapping[str, int], intended_accepted: int, total: int) -> None:
    """Raise :class:`BenchmarkInvalid` unless ``outcomes['accepted']`` is at least
    :data:`MIN_SHARE_OF_INTENDED` of what the stream intended."""
    accepted = outcomes.get(ACCEPTED, 0)
    other = {k: v for k, v in sorted(outcomes.items()) if k != ACCEPTED and v}
    if intended_accepted <= 0:
        raise BenchmarkInvalid(
            f"{benchmark}: the stream intends no accepted notification; nothing to measure"
        )
    if accepted < MIN_SHARE_OF_INTENDED * intended_accepted:
        raise BenchmarkInvalid(
            f"{benchmark}: only {accepted:,} of {total:,} notifications were accepted "
            f"(the stream intended {intended_accepted:,}; other outcomes: {other or 'none'}). "
            f"Below {MIN_SHARE_OF_INTENDED:.0%} of the intended accepted share the stream does not fit "
            "this database (duplicates or rejections are not throughput): no figure is reported."
        )
