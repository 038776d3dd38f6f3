"""Review of the operation log: filters, paging and sorting, "who looked at this resident", random
samples for internal audit, unusual patterns (REQUIREMENTS S-17, S-18; S-15, S-16 for what is
recorded).

S-17 asks for a timely review for unauthorised operations and for internal audits that sample log
entries and check them against the supporting documents; S-18 follows up a suspicion. This module
gives the terminal's review page (built on top of it) and the disclosure function:

* a filtered, sorted, paged listing (`search_log`); the target filter finds every row that touched a
  person — a record view names them in `target`, a search or J-LIS query lists everyone it showed in
  `detail.shown` (住民票コード only; migration 0032 indexes it);
* `entries_for_target`: the operations on one resident ("who looked at this person"), for the
  review and for disclosures to the resident;
* a reproducible random sample (the seed is returned, so an auditor can note it and draw the same
  sample again);
* patterns worth a look, each with the filter that lists exactly its rows: volume over a cap or far
  above the norm, many distinct persons in a day, the same person looked up again and again within a
  window (searches that returned them count as much as record views), work outside working hours, on
  a day off (Japanese public holidays from jpholiday), repeated denies and sign-in failures. The
  thresholds are settings (`pattern_settings`, audit_patterns.toml; docs/audit-review.md).

Reading needs SELECT on audit.op_log, which migration 0009 grants to `juki_term` (and nobody else
but the owner); the log is never written here.

Local time: working hours and days are judged in a fixed UTC offset (default +09:00, JST; Japan has
no daylight saving time), computed as `(at AT TIME ZONE 'UTC') + offset` so the check needs no time
zone database on the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

import psycopg

from juki.domain.records import FileKind
from juki.services.access.actor import Function, Outcome, scope_text
from juki.services.audit.operation_log import ROW_COLUMNS, LogEntry
from juki.services.audit.pattern_settings import PatternThresholds, days_off

__all__ = [
    "DATA_FUNCTIONS",
    "MAX_OFFSET",
    "MAX_PAGE",
    "LogFilter",
    "LogPage",
    "LogSample",
    "LogSort",
    "PatternKind",
    "PatternThresholds",
    "UnusualPattern",
    "entries_for_target",
    "iter_log",
    "sample",
    "search_log",
    "unusual_patterns",
]

MAX_PAGE: Final = 1000
#: Paging goes this deep at most (OFFSET reads every row it skips): narrow the filter beyond it.
MAX_OFFSET: Final = 100_000
#: Whom a row is about, for the patterns: the session's operator, else the login only claimed by
#: somebody not signed in (or given to the console's --as), marked so it is never taken for an
#: operator (migration 0018; LogEntry.who).
_WHO: Final = "coalesce(operator_login, 'claimed:' || claimed_login)"
_CLAIMED: Final = "claimed:"
#: Functions that touch personal data: the ones whose volume and repeated targets matter.
DATA_FUNCTIONS: Final = frozenset(
    {
        Function.SEARCH.value,
        Function.VIEW_RECORD.value,
        Function.OUTPUT.value,
        Function.JLIS_QUERY.value,
        Function.RECONCILIATION_REVIEW.value,
    }
)
_MICRO: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class WorkingHours:
    """Working hours in a fixed UTC offset: a filter on rows *outside* them."""

    start: time
    end: time
    utc_offset: timedelta


@dataclass(frozen=True)
class LogFilter:
    """Conditions on the listing; None / empty means "any". `until` is exclusive.

    `target` matches a row that names the person as its target or lists them among the persons it
    showed (detail.shown). `functions` (any of) narrows further than `function`.
    """

    operator_login: str | None = None
    terminal_name: str | None = None
    function: str | None = None
    file: str | None = None
    outcome: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    functions: tuple[str, ...] = ()
    outside_hours: WorkingHours | None = None

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition (constant text, values as parameters) for these filters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.operator_login:
            # The operator of a session, or the login somebody not signed in typed (claimed).
            clauses.append("(operator_login = %s OR claimed_login = %s)")
            params += [self.operator_login, self.operator_login]
        for column, value in (
            ("terminal_name", self.terminal_name),
            ("function", self.function),
            ("file", self.file),
            ("outcome", self.outcome),
        ):
            if value is not None and value != "":
                clauses.append(f"{column} = %s")
                params.append(str(value))
        if self.target:
            # Two index look-ups: op_log_target (0009) and op_log_shown (0032).
            clauses.append("(target = %s OR detail -> 'shown' ? %s)")
            params += [self.target, self.target]
        if self.functions:
            clauses.append("function = ANY(%s)")
            params.append(list(self.functions))
        if self.since is not None:
            clauses.append("at >= %s")
            params.append(self.since)
        if self.until is not None:
            clauses.append("at < %s")
            params.append(self.until)
        if self.outside_hours is not None:
            local = "((at AT TIME ZONE 'UTC') + %s)::time"
            clauses.append(f"({local} < %s OR {local} >= %s)")
            hours = self.outside_hours
            params += [hours.utc_offset, hours.start, hours.utc_offset, hours.end]
        return (" AND ".join(clauses) if clauses else "true"), params


class LogSort(StrEnum):
    """How a listing is ordered; ties always fall back to the newest first."""

    NEWEST = "newest"
    OLDEST = "oldest"
    OPERATOR = "operator"
    FUNCTION = "function"


_ORDER: Final[dict[LogSort, str]] = {
    LogSort.NEWEST: "at DESC, seq DESC",
    LogSort.OLDEST: "at, seq",
    LogSort.OPERATOR: "coalesce(operator_login, claimed_login, actor_kind) NULLS LAST, at DESC, seq DESC",
    LogSort.FUNCTION: "function, at DESC, seq DESC",
}


@dataclass(frozen=True)
class LogPage:
    """A page of a filtered listing in the order asked for, with the total number of matches."""

    entries: list[LogEntry]
    total: int
    limit: int
    offset: int
    sort: LogSort = LogSort.NEWEST

    @property
    def page(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least 1), as far as paging reaches (MAX_OFFSET)."""
        reachable = min(self.total, MAX_OFFSET + self.limit)
        return max(1, -(-reachable // self.limit))


@dataclass(frozen=True)
class LogSample:
    """A random sample for internal audit (S-17). The same seed and filters give the same sample
    for as long as the matching entries are the same."""

    seed: str
    population: int
    entries: list[LogEntry]


def _count(conn: psycopg.Connection[Any], where: str, params: list[Any]) -> int:
    found = conn.execute(f"SELECT count(*) FROM audit.op_log WHERE {where}", params).fetchone()
    return int(found[0]) if found else 0


def search_log(
    conn: psycopg.Connection[Any],
    filters: LogFilter,
    limit: int = 100,
    offset: int = 0,
    sort: LogSort = LogSort.NEWEST,
) -> LogPage:
    """Entries matching `filters` in `sort` order (`limit` at most MAX_PAGE, `offset` at most
    MAX_OFFSET), with the number of all matches."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, min(offset, MAX_OFFSET))
    where, params = filters.where()
    rows = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM audit.op_log WHERE {where} ORDER BY {_ORDER[sort]} LIMIT %s OFFSET %s",
        [*params, limit, offset],
    ).fetchall()
    return LogPage(
        [LogEntry.from_db(r) for r in rows], _count(conn, where, params), limit, offset, LogSort(sort)
    )


def iter_log(
    conn: psycopg.Connection[Any], filters: LogFilter, sort: LogSort = LogSort.NEWEST, *, batch: int = 2000
) -> Iterator[LogEntry]:
    """Every entry matching `filters` in `sort` order, read in batches through a server-side cursor
    (the export). Call inside a transaction: a server-side cursor lives in one."""
    where, params = filters.where()
    with conn.cursor(name=f"oplog_export_{secrets.token_hex(4)}") as cur:
        cur.itersize = batch
        cur.execute(f"SELECT {ROW_COLUMNS} FROM audit.op_log WHERE {where} ORDER BY {_ORDER[sort]}", params)
        for row in cur:
            yield LogEntry.from_db(row)


def entries_for_target(
    conn: psycopg.Connection[Any],
    file: FileKind | None,
    resident_code: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    functions: frozenset[str] | None = DATA_FUNCTIONS,
    limit: int = 100,
    offset: int = 0,
    sort: LogSort = LogSort.NEWEST,
) -> LogPage:
    """Who looked at this resident: the operations on `file` (None: both files and neither) that
    named the person as their target or showed them in a result (search hits, J-LIS matches).

    `functions` defaults to the personal-data functions (search, record view, output, J-LIS query,
    reconciliation review); None includes every function (an auditor's own review of the person's
    log is then listed too). For the review page and for disclosures to the resident (F1-3 / F2-3).
    """
    filters = LogFilter(
        target=resident_code,
        file=None if file is None else scope_text(file),
        since=since,
        until=until,
        functions=tuple(sorted(functions)) if functions else (),
    )
    return search_log(conn, filters, limit, offset, sort)


def sample(conn: psycopg.Connection[Any], filters: LogFilter, n: int, seed: str | None = None) -> LogSample:
    """N entries drawn at random from those matching `filters`, in log order.

    The draw orders entries by sha256(seed ':' seq): uniform, and reproducible from the seed without
    any state in the database. Without a seed a fresh random one is made (and returned).
    """
    seed = seed if seed is not None else secrets.token_hex(8)
    n = max(0, min(n, MAX_PAGE))
    where, params = filters.where()
    rows = conn.execute(
        f"SELECT * FROM (SELECT {ROW_COLUMNS} FROM audit.op_log WHERE {where} "
        "ORDER BY sha256(convert_to(%s || ':' || seq::text, 'UTF8')) LIMIT %s) s ORDER BY seq",
        [*params, seed, n],
    ).fetchall()
    return LogSample(seed, _count(conn, where, params), [LogEntry.from_db(r) for r in rows])


# ---------------------------------------------------------------------------------------- patterns


class PatternKind(StrEnum):
    """What made an operator's activity worth a look."""

    HIGH_VOLUME = "high_volume"  # one day's personal-data operations above the cap or far above the norm
    BULK_BROWSING = "bulk_browsing"  # many distinct persons shown to one operator in a day
    REPEATED_TARGET = "repeated_target"  # the same person looked up (searched or viewed) again and again
    OFF_HOURS = "off_hours"  # operations outside working hours on a working day
    DAY_OFF = "day_off"  # operations on a weekend, public holiday or other day off
    REPEATED_DENY = "repeated_deny"  # repeatedly refused by the permission matrix
    REPEATED_FAILURE = "repeated_failure"  # repeated sign-in failures for one login


@dataclass(frozen=True)
class UnusualPattern:
    """One finding for the reviewer, with the log entries behind it: the first few seqs, and `rows`,
    the filter that lists exactly the entries it counted (the review page links to it)."""

    kind: PatternKind
    operator_login: str | None
    count: int
    first_at: datetime
    last_at: datetime
    day: date | None = None
    target: str | None = None
    example_seqs: tuple[int, ...] = field(default_factory=tuple)
    reason: str = ""  # in Japanese, for the review page
    rows: LogFilter = field(default_factory=LogFilter)


_LOCAL: Final = "((at AT TIME ZONE 'UTC') + %(offset)s)"
_EXAMPLES: Final = "(array_agg(seq ORDER BY seq))[1:10]"


def _login_filter(who: str) -> str:
    """The operator filter value of a pattern's `who` (a claimed login without its mark)."""
    return who.removeprefix(_CLAIMED)


def _day_bounds(day: date, offset: timedelta, since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The local day `day` as UTC instants, clipped to the reviewed period."""
    start = datetime.combine(day, time(0), UTC) - offset
    return max(start, since), min(start + timedelta(days=1), until)


def unusual_patterns(
    conn: psycopg.Connection[Any],
    since: datetime,
    until: datetime,
    thresholds: PatternThresholds | None = None,
) -> list[UnusualPattern]:
    """Operators' activity in [since, until) that a reviewer should look at (S-17, S-18)."""
    t = thresholds or PatternThresholds()
    local_first = (since.astimezone(UTC) + t.utc_offset).date()
    local_last = (until.astimezone(UTC) + t.utc_offset - _MICRO).date()
    off = days_off(t, local_first, local_last)
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "offset": t.utc_offset,
        "data": sorted(DATA_FUNCTIONS),
        "days_off": sorted(off),
        "deny": Outcome.DENY.value,
        "failure": Outcome.FAILURE.value,
        "sign_in": Function.SIGN_IN.value,
        "search": Function.SEARCH.value,
        "view": Function.VIEW_RECORD.value,
    }
    window = f"at >= %(since)s AND at < %(until)s AND {_WHO} IS NOT NULL"
    data = sorted(DATA_FUNCTIONS)
    found: list[UnusualPattern] = []

    def day_filter(who: str, day: date, **more: Any) -> LogFilter:
        start, end = _day_bounds(day, t.utc_offset, since, until)
        return LogFilter(operator_login=_login_filter(who), since=start, until=end, **more)

    # Volume: personal-data operations of one operator-day, over the cap or far above the median day.
    for who, day, n, first_at, last_at, seqs, median in conn.execute(
        f"""WITH days AS (
              SELECT {_WHO} AS who, ({_LOCAL})::date AS day, count(*) AS n, min(at) AS first_at,
                     max(at) AS last_at, {_EXAMPLES} AS seqs
              FROM audit.op_log WHERE {window} AND function = ANY(%(data)s)
              GROUP BY 1, 2),
            norm AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS median FROM days)
            SELECT d.who, d.day, d.n, d.first_at, d.last_at, d.seqs, norm.median
            FROM days d, norm
            WHERE d.n > %(max_per_day)s OR (d.n >= %(volume_min)s AND d.n > %(factor)s * norm.median)
            ORDER BY d.day, d.who""",
        {**params, "max_per_day": t.max_per_day, "volume_min": t.volume_min, "factor": t.volume_factor},
    ).fetchall():
        reason = (
            f"1日の件数 {n} 件が上限 {t.max_per_day} 件を超えています"
            if n > t.max_per_day
            else f"1日の件数 {n} 件が通常（中央値 {float(median):g} 件）の"
            f" {t.volume_factor:g} 倍を超えています"
        )
        found.append(
            UnusualPattern(
                PatternKind.HIGH_VOLUME,
                who,
                n,
                first_at,
                last_at,
                day,
                None,
                tuple(seqs),
                reason,
                day_filter(who, day, functions=tuple(data)),
            )
        )

    # Each person a personal-data operation touched: its target when that is a 住民票コード (a
    # reconciliation page's target is its run, "run:<id>"), and everyone it showed.
    looks = f"""SELECT DISTINCT seq, at, {_WHO} AS who, function, person FROM (
                  SELECT seq, at, operator_login, claimed_login, function, target AS person
                  FROM audit.op_log
                  WHERE {window} AND function = ANY(%(data)s) AND target ~ '^[0-9]{{11}}$'
                  UNION ALL
                  SELECT seq, at, operator_login, claimed_login, function,
                         jsonb_array_elements_text(detail -> 'shown')
                  FROM audit.op_log
                  WHERE {window} AND function = ANY(%(data)s) AND jsonb_typeof(detail -> 'shown') = 'array'
                ) touched"""

    # Bulk browsing: many distinct persons shown to one operator in one day.
    for who, day, persons, n, first_at, last_at, seqs in conn.execute(
        f"""SELECT who, ({_LOCAL})::date AS day, count(DISTINCT person), count(DISTINCT seq), min(at),
                   max(at), {_EXAMPLES}
            FROM ({looks}) l GROUP BY 1, 2 HAVING count(DISTINCT person) >= %(bulk)s ORDER BY 2, 1""",
        {**params, "bulk": t.bulk_distinct},
    ).fetchall():
        found.append(
            UnusualPattern(
                PatternKind.BULK_BROWSING,
                who,
                persons,
                first_at,
                last_at,
                day,
                None,
                tuple(seqs),
                f"1日に {persons} 人の異なる住民の情報を {n} 回の操作で表示しています"
                f"（しきい値 {t.bulk_distinct} 人）",
                day_filter(who, day, functions=tuple(data)),
            )
        )

    # The same person looked up by one operator again and again within the window.
    window_minutes = int(t.repeat_window.total_seconds() // 60)
    for who, person, n, searches, views, peak, first_at, last_at, seqs in conn.execute(
        f"""WITH l AS ({looks}),
            w AS (SELECT *, count(*) OVER (
                           PARTITION BY who, person ORDER BY at
                           RANGE BETWEEN %(repeat_window)s PRECEDING AND CURRENT ROW) AS in_window
                  FROM l)
            SELECT who, person, count(*), count(*) FILTER (WHERE function = %(search)s),
                   count(*) FILTER (WHERE function = %(view)s), max(in_window), min(at), max(at),
                   {_EXAMPLES}
            FROM w GROUP BY 1, 2 HAVING max(in_window) >= %(repeat_target)s ORDER BY 3 DESC, 1, 2""",
        {**params, "repeat_window": t.repeat_window, "repeat_target": t.repeat_target},
    ).fetchall():
        others = n - searches - views
        found.append(
            UnusualPattern(
                PatternKind.REPEATED_TARGET,
                who,
                n,
                first_at,
                last_at,
                None,
                person,
                tuple(seqs),
                f"同じ住民（住民票コード {person}）を {n} 回参照しています（検索 {searches} 回、"
                f"記録の閲覧 {views} 回" + (f"、その他 {others} 回" if others else "") + "）。"
                f"{window_minutes}分以内に最大 {peak} 回（しきい値 {t.repeat_target} 回）",
                LogFilter(
                    operator_login=_login_filter(who),
                    target=person,
                    functions=tuple(data),
                    since=first_at,
                    until=last_at + _MICRO,
                ),
            )
        )

    # Outside working hours on a working day (days off are their own pattern).
    hours = WorkingHours(t.work_start, t.work_end, t.utc_offset)
    for who, day, n, first_at, last_at, seqs in conn.execute(
        f"""SELECT {_WHO}, ({_LOCAL})::date AS day, count(*), min(at), max(at), {_EXAMPLES}
            FROM audit.op_log
            WHERE {window} AND (({_LOCAL})::time < %(work_start)s OR ({_LOCAL})::time >= %(work_end)s)
              AND NOT ({_LOCAL})::date = ANY(%(days_off)s::date[])
            GROUP BY 1, 2 ORDER BY 2, 1""",
        {**params, "work_start": t.work_start, "work_end": t.work_end},
    ).fetchall():
        found.append(
            UnusualPattern(
                PatternKind.OFF_HOURS,
                who,
                n,
                first_at,
                last_at,
                day,
                None,
                tuple(seqs),
                f"業務時間（{t.work_start:%H:%M}〜{t.work_end:%H:%M}）外の操作が {n} 件あります",
                day_filter(who, day, outside_hours=hours),
            )
        )

    # On a day off: a weekend, a public holiday (jpholiday), the year-end closure, a listed day.
    for who, day, n, first_at, last_at, seqs in conn.execute(
        f"""SELECT {_WHO}, ({_LOCAL})::date AS day, count(*), min(at), max(at), {_EXAMPLES}
            FROM audit.op_log WHERE {window} AND ({_LOCAL})::date = ANY(%(days_off)s::date[])
            GROUP BY 1, 2 ORDER BY 2, 1""",
        params,
    ).fetchall():
        found.append(
            UnusualPattern(
                PatternKind.DAY_OFF,
                who,
                n,
                first_at,
                last_at,
                day,
                None,
                tuple(seqs),
                f"休日（{off[day]}）の操作が {n} 件あります",
                day_filter(who, day),
            )
        )

    for kind, condition, threshold, text, rows in (
        (
            PatternKind.REPEATED_DENY,
            "outcome = %(deny)s",
            t.repeat_deny,
            "権限のない操作が {n} 回拒否されています（しきい値 {t} 回）",
            {"outcome": Outcome.DENY.value},
        ),
        (
            PatternKind.REPEATED_FAILURE,
            "outcome = %(failure)s AND function = %(sign_in)s",
            t.repeat_failure,
            "サインインの失敗が {n} 回あります（しきい値 {t} 回）",
            {"outcome": Outcome.FAILURE.value, "function": Function.SIGN_IN.value},
        ),
    ):
        for who, day, n, first_at, last_at, seqs in conn.execute(
            f"""SELECT {_WHO}, ({_LOCAL})::date AS day, count(*), min(at), max(at), {_EXAMPLES}
                FROM audit.op_log WHERE {window} AND {condition}
                GROUP BY 1, 2 HAVING count(*) >= %(threshold)s ORDER BY 2, 1""",
            {**params, "threshold": threshold},
        ).fetchall():
            found.append(
                UnusualPattern(
                    kind,
                    who,
                    n,
                    first_at,
                    last_at,
                    day,
                    None,
                    tuple(seqs),
                    text.format(n=n, t=threshold),
                    day_filter(who, day, **rows),
                )
            )
    return found
