"""Review of the operation log: filters, random samples for internal audit, unusual patterns
(REQUIREMENTS S-17, S-18; S-15, S-16 for what is recorded).

S-17 asks for a timely review for unauthorised operations and for internal audits that sample log
entries and check them against the supporting documents; S-18 follows up a suspicion. This module
gives the terminal's review page (built on top of it) three things: a filtered listing, a
reproducible random sample (the seed is returned, so an auditor can note it and draw the same sample
again), and patterns worth a look — an operator's volume far above the norm or over a daily cap,
work outside working hours, one operator looking up the same person again and again, and repeated
denies or sign-in failures.

Reading needs SELECT on audit.op_log, which migration 0009 grants to `juki_term` (and nobody else
but the owner); the log is never written here.

Local time: working hours and days are judged in a fixed UTC offset (default +09:00, JST; Japan has
no daylight saving time), computed as `(at AT TIME ZONE 'UTC') + offset` so the check needs no time
zone database on the server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

import psycopg

from juki.services.access.actor import Function, Outcome
from juki.services.audit.operation_log import ROW_COLUMNS, LogEntry

__all__ = [
    "LogFilter",
    "LogPage",
    "LogSample",
    "PatternKind",
    "PatternThresholds",
    "UnusualPattern",
    "sample",
    "search_log",
    "unusual_patterns",
]

MAX_PAGE: Final = 1000
#: Whom a row is about, for the patterns: the session's operator, else the login only claimed by
#: somebody not signed in (or given to the console's --as), marked so it is never taken for an
#: operator (migration 0018; LogEntry.who).
_WHO: Final = "coalesce(operator_login, 'claimed:' || claimed_login)"
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


@dataclass(frozen=True)
class LogFilter:
    """Conditions on the listing; None means "any". `until` is exclusive."""

    operator_login: str | None = None
    terminal_name: str | None = None
    function: str | None = None
    file: str | None = None
    outcome: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

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
            ("target", self.target),
        ):
            if value is not None and value != "":
                clauses.append(f"{column} = %s")
                params.append(str(value))
        if self.since is not None:
            clauses.append("at >= %s")
            params.append(self.since)
        if self.until is not None:
            clauses.append("at < %s")
            params.append(self.until)
        return (" AND ".join(clauses) if clauses else "true"), params


@dataclass(frozen=True)
class LogPage:
    """A page of a filtered listing, newest first, with the total number of matches."""

    entries: list[LogEntry]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class LogSample:
    """A random sample for internal audit (S-17). The same seed and filters give the same sample
    for as long as the matching entries are the same."""

    seed: str
    population: int
    entries: list[LogEntry]


def search_log(
    conn: psycopg.Connection[Any], filters: LogFilter, limit: int = 100, offset: int = 0
) -> LogPage:
    """Entries matching `filters`, newest first (`limit` at most MAX_PAGE)."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    where, params = filters.where()
    total_row = conn.execute(f"SELECT count(*) FROM audit.op_log WHERE {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT {ROW_COLUMNS} FROM audit.op_log WHERE {where} ORDER BY seq DESC LIMIT %s OFFSET %s",
        [*params, limit, offset],
    ).fetchall()
    return LogPage([LogEntry.from_db(r) for r in rows], int(total_row[0]) if total_row else 0, limit, offset)


def sample(conn: psycopg.Connection[Any], filters: LogFilter, n: int, seed: str | None = None) -> LogSample:
    """N entries drawn at random from those matching `filters`, in log order.

    The draw orders entries by sha256(seed ':' seq): uniform, and reproducible from the seed without
    any state in the database. Without a seed a fresh random one is made (and returned).
    """
    seed = seed if seed is not None else secrets.token_hex(8)
    n = max(0, min(n, MAX_PAGE))
    where, params = filters.where()
    total_row = conn.execute(f"SELECT count(*) FROM audit.op_log WHERE {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT * FROM (SELECT {ROW_COLUMNS} FROM audit.op_log WHERE {where} "
        "ORDER BY sha256(convert_to(%s || ':' || seq::text, 'UTF8')) LIMIT %s) s ORDER BY seq",
        [*params, seed, n],
    ).fetchall()
    return LogSample(seed, int(total_row[0]) if total_row else 0, [LogEntry.from_db(r) for r in rows])


class PatternKind(StrEnum):
    """What made an operator's activity worth a look."""

    HIGH_VOLUME = "high_volume"  # one day's personal-data operations above the cap or far above the norm
    OFF_HOURS = "off_hours"  # operations outside working hours / on a day off
    REPEATED_TARGET = "repeated_target"  # the same person looked up again and again
    REPEATED_DENY = "repeated_deny"  # repeatedly refused by the permission matrix
    REPEATED_FAILURE = "repeated_failure"  # repeated sign-in failures for one login


@dataclass(frozen=True)
class PatternThresholds:
    """Where "unusual" begins; every value is the prefecture's to set."""

    max_per_day: int = 500  # personal-data operations by one operator in one day
    volume_factor: float = 5.0  # … or more than this many times the median operator-day
    volume_min: int = 50  # … but only from this many on (a median of 2 makes 11 unremarkable)
    work_start: time = time(8, 0)
    work_end: time = time(20, 0)
    weekends_off: bool = True
    holidays: frozenset[date] = frozenset()
    utc_offset: timedelta = timedelta(hours=9)  # JST
    repeat_target: int = 3  # looks at one person by one operator in the period
    repeat_deny: int = 3  # denies for one operator in one day
    repeat_failure: int = 5  # sign-in failures for one login in one day


@dataclass(frozen=True)
class UnusualPattern:
    """One finding for the reviewer, with the log entries behind it (first few seqs)."""

    kind: PatternKind
    operator_login: str | None
    count: int
    first_at: datetime
    last_at: datetime
    day: date | None = None
    target: str | None = None
    example_seqs: tuple[int, ...] = field(default_factory=tuple)
    reason: str = ""  # in Japanese, for the review page


_LOCAL: Final = "((at AT TIME ZONE 'UTC') + %(offset)s)"


def _pattern_rows(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


def unusual_patterns(
    conn: psycopg.Connection[Any],
    since: datetime,
    until: datetime,
    thresholds: PatternThresholds | None = None,
) -> list[UnusualPattern]:
    """Operators' activity in [since, until) that a reviewer should look at (S-17, S-18)."""
    t = thresholds or PatternThresholds()
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "offset": t.utc_offset,
        "data": sorted(DATA_FUNCTIONS),
        "max_per_day": t.max_per_day,
        "factor": t.volume_factor,
        "volume_min": t.volume_min,
        "work_start": t.work_start,
        "work_end": t.work_end,
        "weekends": t.weekends_off,
        "holidays": sorted(t.holidays),
        "repeat_target": t.repeat_target,
        "repeat_deny": t.repeat_deny,
        "repeat_failure": t.repeat_failure,
        "deny": Outcome.DENY.value,
        "failure": Outcome.FAILURE.value,
        "sign_in": Function.SIGN_IN.value,
    }
    window = f"at >= %(since)s AND at < %(until)s AND {_WHO} IS NOT NULL"
    examples = "(array_agg(seq ORDER BY seq))[1:10]"
    found: list[UnusualPattern] = []

    volume = _pattern_rows(
        conn,
        f"""WITH days AS (
              SELECT {_WHO} AS who, ({_LOCAL})::date AS day, count(*) AS n, min(at) AS first_at,
                     max(at) AS last_at, {examples} AS seqs
              FROM audit.op_log WHERE {window} AND function = ANY(%(data)s)
              GROUP BY 1, 2),
            norm AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS median FROM days)
            SELECT d.who, d.day, d.n, d.first_at, d.last_at, d.seqs, norm.median
            FROM days d, norm
            WHERE d.n > %(max_per_day)s OR (d.n >= %(volume_min)s AND d.n > %(factor)s * norm.median)
            ORDER BY d.day, d.who""",
        params,
    )
    for login, day, n, first_at, last_at, seqs, median in volume:
        reason = (
            f"1日の件数 {n} 件が上限 {t.max_per_day} 件を超えています"
            if n > t.max_per_day
            else f"1日の件数 {n} 件が通常（中央値 {float(median):g} 件）の"
            f" {t.volume_factor:g} 倍を超えています"
        )
        found.append(
            UnusualPattern(
                PatternKind.HIGH_VOLUME, login, n, first_at, last_at, day, None, tuple(seqs), reason
            )
        )

    off_hours = _pattern_rows(
        conn,
        f"""SELECT {_WHO}, ({_LOCAL})::date AS day, count(*), min(at), max(at), {examples}
            FROM audit.op_log
            WHERE {window} AND (
              ({_LOCAL})::time < %(work_start)s OR ({_LOCAL})::time >= %(work_end)s
              OR (%(weekends)s AND extract(isodow FROM {_LOCAL}) IN (6, 7))
              OR ({_LOCAL})::date = ANY(%(holidays)s::date[]))
            GROUP BY 1, 2 ORDER BY 2, 1""",
        params,
    )
    hours = f"{t.work_start:%H:%M}〜{t.work_end:%H:%M}"
    for login, day, n, first_at, last_at, seqs in off_hours:
        found.append(
            UnusualPattern(
                PatternKind.OFF_HOURS,
                login,
                n,
                first_at,
                last_at,
                day,
                None,
                tuple(seqs),
                f"業務時間（{hours}、平日）外の操作が {n} 件あります",
            )
        )

    targets = _pattern_rows(
        conn,
        f"""SELECT {_WHO}, target, count(*), min(at), max(at), {examples}
            FROM audit.op_log
            WHERE {window} AND target IS NOT NULL AND function = ANY(%(data)s)
            GROUP BY 1, 2 HAVING count(*) >= %(repeat_target)s ORDER BY 3 DESC, 1, 2""",
        params,
    )
    for login, target, n, first_at, last_at, seqs in targets:
        found.append(
            UnusualPattern(
                PatternKind.REPEATED_TARGET,
                login,
                n,
                first_at,
                last_at,
                None,
                target,
                tuple(seqs),
                f"同じ対象（{target}）を {n} 回参照しています",
            )
        )

    for kind, condition, threshold, text in (
        (
            PatternKind.REPEATED_DENY,
            "outcome = %(deny)s",
            "%(repeat_deny)s",
            "権限のない操作が {n} 回拒否されています",
        ),
        (
            PatternKind.REPEATED_FAILURE,
            "outcome = %(failure)s AND function = %(sign_in)s",
            "%(repeat_failure)s",
            "サインインの失敗が {n} 回あります",
        ),
    ):
        rows = _pattern_rows(
            conn,
            f"""SELECT {_WHO}, ({_LOCAL})::date AS day, count(*), min(at), max(at), {examples}
                FROM audit.op_log WHERE {window} AND {condition}
                GROUP BY 1, 2 HAVING count(*) >= {threshold} ORDER BY 2, 1""",
            params,
        )
        for login, day, n, first_at, last_at, seqs in rows:
            found.append(
                UnusualPattern(kind, login, n, first_at, last_at, day, None, tuple(seqs), text.format(n=n))
            )
    return found
