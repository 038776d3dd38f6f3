"""Review of the operation log: filtered listing, audit samples, unusual patterns
(REQUIREMENTS S-17, S-18; the rows are the S-15/S-16 log)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.audit.review import (
    LogFilter,
    PatternKind,
    PatternThresholds,
    UnusualPattern,
    sample,
    search_log,
    unusual_patterns,
)
from juki.store.db import Database
from tests.services.audit.support import actor, connect_as

JST = timezone(timedelta(hours=9))
MONDAY = date(2026, 3, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST)


def add(
    conn: psycopg.Connection[Any],
    who: Actor | None,
    when: datetime,
    *,
    function: Function = Function.SEARCH,
    outcome: Outcome = Outcome.ALLOW,
    target: str | None = None,
    login: str | None = None,
) -> int:
    """Append a row, then (as the test's superuser) set its time: the review reads times, not hashes."""
    seq = record_operation(
        conn,
        who,
        function=function,
        file=FileKind.PREF if function != Function.SIGN_IN else None,
        outcome=outcome,
        target=target,
        claimed_login=login,
        terminal_id=None if who is not None else _terminal(conn, "T-009"),
    )
    conn.execute("UPDATE audit.op_log SET at = %s WHERE seq = %s", (when, seq))
    return seq


def _terminal(conn: psycopg.Connection[Any], name: str) -> int:
    """The id of a registered terminal of this name (registered now if missing)."""
    found = conn.execute("SELECT id FROM term.terminals WHERE name = %s", (name,)).fetchone()
    if found is None:
        found = conn.execute(
            "INSERT INTO term.terminals (name, kind, registered_by) VALUES (%s, 'business', 'test') RETURNING id",
            (name,),
        ).fetchone()
    assert found is not None
    return int(found[0])


def kinds(found: list[UnusualPattern]) -> set[tuple[PatternKind, str | None]]:
    return {(p.kind, p.operator_login) for p in found}


def test_S17_search_filters_and_pages_newest_first(db: Database) -> None:
    """S-17: the reviewer narrows the log by operator, terminal, function, outcome, file and time."""
    assert MONDAY.isoweekday() == 1
    sato, kato = actor(db, "sato", "T-001"), actor(db, "kato", "T-002")
    with db.connect() as conn:
        for i in range(5):
            add(conn, sato, at(MONDAY, 9, i), target=f"{i:011d}")
        add(conn, kato, at(MONDAY, 10), function=Function.VIEW_RECORD, outcome=Outcome.DENY)
        add(conn, kato, at(MONDAY + timedelta(days=1), 10))
        conn.commit()
    with connect_as(db, "juki_term") as conn:  # the terminal application's read-only grant
        everything = search_log(conn, LogFilter())
        assert everything.total == 7 and [e.seq for e in everything.entries] == [7, 6, 5, 4, 3, 2, 1]
        page = search_log(conn, LogFilter(operator_login="sato"), limit=2, offset=2)
        assert page.total == 5 and [e.seq for e in page.entries] == [3, 2]
        assert page.entries[0].target == "00000000002" and page.entries[0].terminal_name == "T-001"
        denied = search_log(conn, LogFilter(outcome="deny"))
        assert [(e.operator_login, e.function) for e in denied.entries] == [("kato", "view_record")]
        assert search_log(conn, LogFilter(terminal_name="T-002", function="search")).total == 1
        assert search_log(conn, LogFilter(file="fuhyo")).total == 0
        day = LogFilter(since=at(MONDAY, 0), until=at(MONDAY + timedelta(days=1), 0))
        assert search_log(conn, day).total == 6
        assert search_log(conn, LogFilter(target="00000000004")).entries[0].seq == 5


def test_S17_audit_sample_is_random_and_reproducible_from_its_seed(db: Database) -> None:
    """S-17: an internal audit draws N entries at random; the seed is kept so the draw can be shown
    again to whoever checks the audit."""
    with db.connect() as conn:
        for i in range(60):
            add(conn, actor(conn, f"op{i % 3}"), at(MONDAY, 9) + timedelta(minutes=i), target=str(i))
        conn.commit()
        first = sample(conn, LogFilter(), 10)
        assert len(first.seed) >= 16 and first.population == 60 and len(first.entries) == 10
        seqs = [e.seq for e in first.entries]
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        again = sample(conn, LogFilter(), 10, seed=first.seed)
        assert [e.seq for e in again.entries] == seqs
        other = sample(conn, LogFilter(), 10, seed=first.seed + "x")
        assert [e.seq for e in other.entries] != seqs
        only = sample(conn, LogFilter(operator_login="op1"), 50, seed="s")
        assert only.population == 20 and len(only.entries) == 20
        assert {e.operator_login for e in only.entries} == {"op1"}


def test_S17_volume_over_the_daily_cap_or_far_above_the_norm_is_flagged(db: Database) -> None:
    """S-17: an operator's personal-data operations over the cap, or far above the operators' usual
    day, are flagged; ordinary days are not."""
    with db.connect() as conn:
        for n in range(8):
            for i in range(10):
                add(conn, actor(conn, f"usual{n}"), at(MONDAY, 9, i))
        for i in range(60):
            add(conn, actor(conn, "heavy"), at(MONDAY, 10) + timedelta(seconds=i))
        for i in range(120):
            add(conn, actor(conn, "capped"), at(MONDAY + timedelta(days=1), 10) + timedelta(seconds=i))
        conn.commit()
        found = unusual_patterns(
            conn,
            at(MONDAY, 0),
            at(MONDAY, 0) + timedelta(days=7),
            PatternThresholds(max_per_day=100, volume_factor=5.0, volume_min=50),
        )
    volume = {p.operator_login: p for p in found if p.kind is PatternKind.HIGH_VOLUME}
    assert set(volume) == {"heavy", "capped"}
    assert volume["heavy"].count == 60 and volume["heavy"].day == MONDAY
    assert "中央値 10 件" in volume["heavy"].reason  # far above the norm, under the cap
    assert volume["capped"].count == 120 and "上限 100 件" in volume["capped"].reason
    assert len(volume["heavy"].example_seqs) == 10


def test_S17_operations_outside_working_hours_and_on_days_off_are_flagged(db: Database) -> None:
    """S-17: work at night on a working day is "outside hours"; work on a weekend or a listed day off
    is "day off", named; office hours on a working day are neither."""
    holiday = MONDAY + timedelta(days=2)
    with db.connect() as conn:
        add(conn, actor(conn, "day"), at(MONDAY, 8, 0))
        add(conn, actor(conn, "day"), at(MONDAY, 19, 59))
        add(conn, actor(conn, "night"), at(MONDAY, 22, 30))
        add(
            conn, actor(conn, "night"), at(MONDAY + timedelta(days=1), 6, 0)
        )  # 06:00 JST = 21:00 UTC the day before
        add(conn, actor(conn, "weekend"), at(MONDAY + timedelta(days=5), 10))  # Saturday
        add(conn, actor(conn, "holiday"), at(holiday, 10))
        conn.commit()
        found = unusual_patterns(
            conn,
            at(MONDAY, 0),
            at(MONDAY, 0) + timedelta(days=7),
            PatternThresholds(holidays=frozenset({holiday})),
        )
    off = [p for p in found if p.kind is PatternKind.OFF_HOURS]
    assert {(p.operator_login, p.day) for p in off} == {
        ("night", MONDAY),
        ("night", MONDAY + timedelta(days=1)),
    }
    assert all("業務時間（08:00〜20:00）外" in p.reason for p in off)
    days_off = {(p.operator_login, p.day): p.reason for p in found if p.kind is PatternKind.DAY_OFF}
    assert days_off == {
        ("weekend", MONDAY + timedelta(days=5)): "休日（土曜日）の操作が 1 件あります",
        ("holiday", holiday): "休日（指定された休日）の操作が 1 件あります",
    }


def test_S18_repeated_look_ups_of_one_person_are_flagged(db: Database) -> None:
    """S-17/S-18: one operator looking up the same person again and again within the window is worth
    an interview; the same count spread beyond the window, or by different operators, is not."""
    with db.connect() as conn:
        for minute in range(3):
            add(
                conn,
                actor(conn, "curious"),
                at(MONDAY, 11, minute),
                function=Function.VIEW_RECORD,
                target="12345678901",
            )
        add(conn, actor(conn, "curious"), at(MONDAY, 12), target="22222222222")
        add(conn, actor(conn, "curious"), at(MONDAY, 13), target="22222222222")
        add(conn, actor(conn, "curious"), at(MONDAY, 14), target="22222222222")
        add(conn, actor(conn, "a"), at(MONDAY, 11), target="33333333333")
        add(conn, actor(conn, "b"), at(MONDAY, 11), target="33333333333")
        add(conn, actor(conn, "c"), at(MONDAY, 11), target="33333333333")
        conn.commit()
        found = unusual_patterns(
            conn,
            at(MONDAY, 0),
            at(MONDAY, 0) + timedelta(days=1),
            PatternThresholds(repeat_target=3, repeat_window=timedelta(minutes=10)),
        )
    repeated = [p for p in found if p.kind is PatternKind.REPEATED_TARGET]
    assert [(p.operator_login, p.target, p.count) for p in repeated] == [("curious", "12345678901", 3)]
    assert len(repeated[0].example_seqs) == 3
    assert "記録の閲覧 3 回" in repeated[0].reason and "10分以内に最大 3 回" in repeated[0].reason


def test_S17_repeated_denies_and_sign_in_failures_are_flagged(db: Database) -> None:
    """S-17: repeated refusals by the permission matrix, and repeated sign-in failures for one login."""
    with db.connect() as conn:
        for minute in range(3):
            add(conn, actor(conn, "prober"), at(MONDAY, 14, minute), outcome=Outcome.DENY)
        add(conn, actor(conn, "once"), at(MONDAY, 14), outcome=Outcome.DENY)
        for minute in range(5):
            add(
                conn,
                None,
                at(MONDAY, 15, minute),
                function=Function.SIGN_IN,
                outcome=Outcome.FAILURE,
                login="guess",
            )
        conn.commit()
        found = unusual_patterns(conn, at(MONDAY, 0), at(MONDAY, 0) + timedelta(days=1))
    assert kinds(found) == {
        (PatternKind.REPEATED_DENY, "prober"),
        (PatternKind.REPEATED_FAILURE, "claimed:guess"),  # typed, never signed in
    }


def test_S17_nothing_unusual_in_an_ordinary_week(db: Database) -> None:
    with db.connect() as conn:
        for d in range(5):
            for n in range(4):
                add(conn, actor(conn, f"op{n}"), at(MONDAY + timedelta(days=d), 9 + n), target=f"{d}{n}")
        conn.commit()
        assert unusual_patterns(conn, at(MONDAY, 0), at(MONDAY, 0) + timedelta(days=7)) == []


@pytest.mark.parametrize("limit", [0, 5000])
def test_S17_page_size_is_bounded(db: Database, limit: int) -> None:
    with db.connect() as conn:
        page = search_log(conn, LogFilter(), limit=limit)
    assert 1 <= page.limit <= 1000
