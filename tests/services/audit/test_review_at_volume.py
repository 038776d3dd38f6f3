"""The review at real volume (issue 10 items 8, 9; REQUIREMENTS S-15..S-18): a search logs whom it
showed, "who looked at this resident", sorting and paging, patterns that catch misuse with
thresholds from the settings file, Japanese public holidays, and each pattern's own rows."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from juki.config import Settings
from juki.domain.records import FileKind
from juki.interfaces.cli import app as cli_app
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.audit.pattern_settings import (
    PatternThresholds,
    days_off,
    load_thresholds,
    parse_thresholds,
)
from juki.services.audit.review import (
    LogFilter,
    LogSort,
    PatternKind,
    entries_for_target,
    search_log,
    unusual_patterns,
)
from juki.services.search.conditions import SearchConditions
from juki.services.search.service import search, view_record
from juki.store.db import Database, DbRole
from tests.factories import juminhyo, notification, pref_record
from tests.interfaces.terminal_web_support import apply_notifications
from tests.services.audit.support import actor

JST = timezone(timedelta(hours=9))
WEDNESDAY = date(2026, 5, 13)  # an ordinary working day
PERSON = "12345678901"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=JST)


def add(
    conn: psycopg.Connection[Any],
    who: Actor,
    when: datetime,
    *,
    function: Function = Function.SEARCH,
    target: str | None = None,
    shown: list[str] | None = None,
    file: FileKind | None = FileKind.PREF,
    outcome: Outcome = Outcome.ALLOW,
) -> int:
    """Append a row as `who`, then (as the test's superuser) set its time: the review reads times."""
    detail: dict[str, object] = {} if shown is None else {"result_count": len(shown), "shown": shown}
    seq = record_operation(
        conn, who, function=function, file=file, outcome=outcome, target=target, detail=detail or None
    )
    conn.execute("UPDATE audit.op_log SET at = %s WHERE seq = %s", (when, seq))
    return seq


# ------------------------------------------------------------------ a search logs whom it showed


def test_S16_search_logs_the_codes_of_the_persons_it_showed_and_juki_audit_verify_passes(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-16 (issue 10 item 8): a search's log row lists the 住民票コード of every person it returned —
    codes only, none of their names or birth dates — and `juki audit verify` still passes."""
    twins = [juminhyo(n) for n in (31, 32, 33)]
    apply_notifications(
        db,
        *(
            notification(
                "pref",
                "overseas_move_in",
                code,
                record=pref_record(
                    n, name_kanji="横浜　次郎", name_kana="ヨコハマ　ジロウ", birth_date=f"1990-01-0{i + 1}"
                ),
                change_date="2026-09-01",
            )
            for i, (n, code) in enumerate(zip((31, 32, 33), twins, strict=True))
        ),
    )
    who = actor(db, "kensaku", "T-1", roles=frozenset({"pref_operator"}))
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        result = search(conn, who, SearchConditions(name="ヨコハマ　ジロウ", birth_date="1990"))
        view_record(conn, who, FileKind.PREF, twins[1])
    assert {h.juminhyo_code for h in result.hits} == set(twins)
    with db.connect() as conn:
        found = conn.execute(
            "SELECT detail, detail::text FROM audit.op_log WHERE function = 'search'"
        ).fetchone()
    assert found is not None
    detail, text = found
    assert detail["shown"] == [h.juminhyo_code for h in result.hits] and detail["result_count"] == 3
    assert all(re.fullmatch(r"\d{11}", code) for code in detail["shown"])
    for hit in result.hits:  # what the list showed of each person stays out of the log
        assert hit.birth_date not in text and hit.address not in text and hit.name_kanji not in text

    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_DATABASE_NAME", raising=False)
    runner = CliRunner()
    made = runner.invoke(cli_app, ["audit", "checkpoint", "--json"])
    assert made.exit_code == 0, made.output
    verified = runner.invoke(cli_app, ["audit", "verify", "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"] is True


# ------------------------------------------------------------ who looked at this resident (S-17)


def test_S17_target_filter_finds_record_views_and_searches_that_showed_the_person(db: Database) -> None:
    """S-17/S-18 (issue 10 item 8): "who looked at this resident" lists the record views of the person
    and every search that returned them, by any operator, and nothing else."""
    sato, kato = actor(db, "sato", "T-1"), actor(db, "kato", "T-2")
    with db.connect() as conn:
        viewed = add(conn, sato, at(WEDNESDAY, 9), function=Function.VIEW_RECORD, target=PERSON)
        searched = add(conn, kato, at(WEDNESDAY, 10), shown=["99999999999", PERSON])
        add(conn, kato, at(WEDNESDAY, 11), shown=["99999999999"])  # somebody else
        add(conn, sato, at(WEDNESDAY, 12), function=Function.VIEW_RECORD, target="99999999999")
        fuhyo = add(conn, sato, at(WEDNESDAY, 13), file=FileKind.FUHYO, shown=[PERSON])
        reviewed = add(conn, sato, at(WEDNESDAY, 14), function=Function.LOG_REVIEW, file=None, target=PERSON)
        conn.commit()
        both = entries_for_target(conn, None, PERSON)
        assert [e.seq for e in both.entries] == [fuhyo, searched, viewed] and both.total == 3
        assert [e.operator_login for e in both.entries] == ["sato", "kato", "sato"]
        pref = entries_for_target(conn, FileKind.PREF, PERSON, sort=LogSort.OLDEST)
        assert [e.seq for e in pref.entries] == [viewed, searched]
        everything = entries_for_target(conn, None, PERSON, functions=None)
        assert reviewed in [e.seq for e in everything.entries] and everything.total == 4
        assert search_log(conn, LogFilter(target=PERSON, operator_login="kato")).total == 1


def test_S17_target_filter_is_answered_from_the_indexes(db: Database) -> None:
    """Issue 10 item 8: at real volume the target filter reads two indexes (op_log_target and
    op_log_shown, migration 0032), not the whole log."""
    with db.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        where, params = LogFilter(target=PERSON).where()
        plan = "\n".join(
            r[0] for r in conn.execute(f"EXPLAIN SELECT seq FROM audit.op_log WHERE {where}", params)
        )
    assert "op_log_shown" in plan and "op_log_target" in plan, plan


def test_S17_listing_sorts_by_time_operator_and_function_and_pages(db: Database) -> None:
    """Issue 10 item 8: the listing is paged on the server and sorted by time, operator or function."""
    a, b = actor(db, "a-op", "T-1"), actor(db, "b-op", "T-1")
    with db.connect() as conn:
        seqs = [
            add(
                conn,
                b if i % 2 else a,
                at(WEDNESDAY, 9, i),
                function=Function.VIEW_RECORD if i % 3 else Function.SEARCH,
            )
            for i in range(23)
        ]
        conn.commit()
        first = search_log(conn, LogFilter(), limit=10)
        assert first.total == 23 and first.pages == 3 and first.page == 1
        assert [e.seq for e in first.entries] == list(reversed(seqs))[:10]
        last = search_log(conn, LogFilter(), limit=10, offset=20)
        assert last.page == 3 and [e.seq for e in last.entries] == list(reversed(seqs))[20:]
        oldest = search_log(conn, LogFilter(), limit=5, sort=LogSort.OLDEST)
        assert [e.seq for e in oldest.entries] == seqs[:5]
        by_operator = search_log(conn, LogFilter(), limit=23, sort=LogSort.OPERATOR).entries
        assert [e.operator_login for e in by_operator] == ["a-op"] * 12 + ["b-op"] * 11
        assert [e.seq for e in by_operator[:12]] == sorted(
            (s for i, s in enumerate(seqs) if i % 2 == 0), reverse=True
        )
        by_function = search_log(conn, LogFilter(), limit=23, sort=LogSort.FUNCTION).entries
        assert [e.function for e in by_function] == ["search"] * 8 + ["view_record"] * 15


# ------------------------------------------------------------------------ patterns (issue 10, 9)


def test_S18_150_searches_of_one_person_in_32_seconds_are_a_repeated_search_pattern(db: Database) -> None:
    """S-18 (issue 10 item 9): 150 searches of one person in 32 s by one operator are flagged as
    repeated look-ups of that person (not only "outside hours"), with the rows behind the flag."""
    who = actor(db, "snoop", "T-1")
    start = at(WEDNESDAY, 10)
    with db.connect() as conn:
        for i in range(150):
            add(conn, who, start + timedelta(seconds=i * 32 / 149), shown=[PERSON])
        conn.commit()
        found = unusual_patterns(
            conn, at(WEDNESDAY, 0), at(WEDNESDAY, 0) + timedelta(days=1), load_thresholds()
        )
        repeated = [p for p in found if p.kind is PatternKind.REPEATED_TARGET]
        assert [(p.operator_login, p.target, p.count) for p in repeated] == [("snoop", PERSON, 150)]
        flag = repeated[0]
        assert "検索 150 回" in flag.reason and "10分以内に最大 150 回" in flag.reason
        rows = search_log(conn, flag.rows, limit=1000)
        assert rows.total == 150 and {e.operator_login for e in rows.entries} == {"snoop"}
        assert set(flag.example_seqs) <= {e.seq for e in rows.entries}


def test_S18_look_ups_spread_beyond_the_window_are_not_repeated(db: Database) -> None:
    """S-18: the window matters — five looks at one person over a day are an ordinary case file;
    paging through one reconciliation run (target "run:<id>") is no person at all."""
    who = actor(db, "clerk", "T-1")
    with db.connect() as conn:
        for hour in range(9, 14):
            add(conn, who, at(WEDNESDAY, hour), function=Function.VIEW_RECORD, target=PERSON)
        for minute in range(10):
            add(conn, who, at(WEDNESDAY, 15, minute), function=Function.RECONCILIATION_REVIEW, target="run:7")
        conn.commit()
        found = unusual_patterns(conn, at(WEDNESDAY, 0), at(WEDNESDAY, 0) + timedelta(days=1))
    assert found == []


def test_S18_bulk_browsing_of_many_distinct_persons_is_flagged(db: Database) -> None:
    """S-18 (issue 10 item 9): many distinct persons shown to one operator in a day — record views
    and search results together — are "bulk browsing"."""
    who, usual = actor(db, "browser", "T-1"), actor(db, "usual", "T-2")
    with db.connect() as conn:
        for i in range(30):
            add(conn, who, at(WEDNESDAY, 9, i), shown=[f"{1000 * i + k:011d}" for k in range(10)])
        for i in range(5):
            add(conn, who, at(WEDNESDAY, 11, i), function=Function.VIEW_RECORD, target=f"{900000 + i:011d}")
            add(conn, usual, at(WEDNESDAY, 11, i), function=Function.VIEW_RECORD, target=f"{800000 + i:011d}")
        conn.commit()
        found = unusual_patterns(conn, at(WEDNESDAY, 0), at(WEDNESDAY, 0) + timedelta(days=1))
        bulk = [p for p in found if p.kind is PatternKind.BULK_BROWSING]
        assert [(p.operator_login, p.count, p.day) for p in bulk] == [("browser", 305, WEDNESDAY)]
        assert "305 人の異なる住民" in bulk[0].reason and "35 回の操作" in bulk[0].reason
        assert search_log(conn, bulk[0].rows).total == 35


def test_S17_days_off_are_japanese_public_holidays_of_2026(db: Database) -> None:
    """S-17 (issue 10 item 9): public holidays come from jpholiday — 2026-05-06 is the 振替休日 of
    憲法記念日 and 2026-09-22 a 国民の休日 — plus the year-end closure; a Wednesday in May is not."""
    off = days_off(PatternThresholds(), date(2026, 5, 1), date(2026, 12, 31))
    assert off[date(2026, 5, 6)] == "憲法記念日 振替休日"
    assert off[date(2026, 9, 22)] == "国民の休日"
    assert off[date(2026, 12, 30)] == "年末年始の休日"
    assert off[date(2026, 5, 9)] == "土曜日"
    assert WEDNESDAY not in off and date(2026, 5, 7) not in off
    assert date(2026, 5, 6) not in days_off(
        PatternThresholds(public_holidays=False), date(2026, 5, 6), date(2026, 5, 6)
    )
    who = actor(db, "holiday-worker", "T-1")
    with db.connect() as conn:
        on_holiday = add(conn, who, at(date(2026, 5, 6), 10))
        add(conn, who, at(WEDNESDAY, 10))
        conn.commit()
        found = unusual_patterns(conn, at(date(2026, 5, 1), 0), at(date(2026, 6, 1), 0))
        flags = [(p.kind, p.day, p.reason) for p in found]
        assert flags == [
            (PatternKind.DAY_OFF, date(2026, 5, 6), "休日（憲法記念日 振替休日）の操作が 1 件あります")
        ]
        assert [e.seq for e in search_log(conn, found[0].rows).entries] == [on_holiday]


def test_S17_thresholds_come_from_the_settings_file(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 item 9: hours, thresholds and days off are settings (JUKI_AUDIT_PATTERNS, a TOML file
    like the shipped juki/data/audit_patterns.toml); a typo is refused, never ignored."""
    assert load_thresholds() == PatternThresholds()  # the shipped file states the defaults
    path = tmp_path / "patterns.toml"
    path.write_text(
        '[hours]\nwork_start = "09:00"\nwork_end = "17:00"\n'
        '[days]\npublic_holidays = false\nextra_days_off = ["2026-05-13"]\n'
        "[repeated_target]\ncount = 3\nwindow_minutes = 1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("JUKI_AUDIT_PATTERNS", str(path))
    settings = Settings.from_env()
    assert settings.audit_patterns_file == path.resolve()
    mine = load_thresholds(settings.audit_patterns_file)
    assert mine.repeat_target == 3 and mine.repeat_window == timedelta(minutes=1)
    assert mine.work_start == time(9) and not mine.public_holidays and date(2026, 5, 13) in mine.holidays

    who = actor(db, "checker", "T-1")
    thursday = WEDNESDAY + timedelta(days=1)
    with db.connect() as conn:
        for second in (0, 20, 40):
            add(conn, who, at(thursday, 10, 0, second), function=Function.VIEW_RECORD, target=PERSON)
        add(conn, who, at(thursday, 8, 30))  # inside the default hours, outside these
        add(conn, who, at(WEDNESDAY, 10))  # a listed day off
        conn.commit()
        period = (at(WEDNESDAY, 0), at(WEDNESDAY, 0) + timedelta(days=2))
        assert {p.kind for p in unusual_patterns(conn, *period)} == set()
        assert {p.kind for p in unusual_patterns(conn, *period, mine)} == {
            PatternKind.REPEATED_TARGET,
            PatternKind.OFF_HOURS,
            PatternKind.DAY_OFF,
        }
    for bad, message in (
        ("[repeated_target]\ncuont = 3\n", "unknown key repeated_target.cuont"),
        ("[repeat]\ncount = 3\n", "unknown section [repeat]"),
        ('[repeated_target]\ncount = "3"\n', "repeated_target.count must be"),
        ('[hours]\nwork_start = "18:00"\nwork_end = "08:00"\n', "work_end must be later"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_thresholds(bad)


def test_S17_each_pattern_links_to_exactly_its_rows(db: Database) -> None:
    """Issue 10 item 8: every flag carries the filter of its own rows; listing it gives the rows it
    counted (for bulk browsing: the operations that showed the persons)."""
    saturday = date(2026, 5, 16)
    prober, snoop, night = actor(db, "prober", "T-1"), actor(db, "snoop", "T-1"), actor(db, "night", "T-1")
    with db.connect() as conn:
        for minute in range(3):
            add(conn, prober, at(WEDNESDAY, 10, minute), outcome=Outcome.DENY)
        for i in range(6):
            add(conn, snoop, at(WEDNESDAY, 11, i), function=Function.VIEW_RECORD, target=PERSON)
        add(conn, snoop, at(WEDNESDAY, 12), shown=[PERSON])  # outside the window, still its row
        add(conn, night, at(WEDNESDAY, 22), function=Function.VIEW_RECORD, target="22222222222")
        add(conn, night, at(WEDNESDAY, 15))  # in hours: not part of the off-hours flag
        add(conn, night, at(saturday, 10))
        for i in range(60):
            add(conn, night, at(WEDNESDAY + timedelta(days=1), 9) + timedelta(seconds=i))
        conn.commit()
        found = unusual_patterns(
            conn,
            at(WEDNESDAY, 0),
            at(saturday, 0) + timedelta(days=1),
            PatternThresholds(volume_min=50, bulk_distinct=1000),
        )
        kinds = {p.kind for p in found}
        assert kinds == {
            PatternKind.REPEATED_DENY,
            PatternKind.REPEATED_TARGET,
            PatternKind.OFF_HOURS,
            PatternKind.DAY_OFF,
            PatternKind.HIGH_VOLUME,
        }
        for flag in found:
            listed = search_log(conn, flag.rows, limit=1000)
            assert listed.total == flag.count, flag
            assert set(flag.example_seqs) <= {e.seq for e in listed.entries}, flag


def test_S17_every_threshold_of_every_pattern_is_a_setting() -> None:
    """Issue 10 item 9: each pattern's threshold, the hours and the days off are read from the file."""
    text = """
[hours]
utc_offset_minutes = 600
work_start = "07:30"
work_end = "19:00"
[days]
weekends_off = false
public_holidays = false
closed_days = ["12-31"]
extra_days_off = ["2026-06-01"]
[volume]
max_per_day = 40
factor = 3.5
minimum = 20
[repeated_target]
count = 7
window_minutes = 30
[bulk_browsing]
distinct_persons_per_day = 90
[refusals]
denies_per_day = 2
sign_in_failures_per_day = 9
"""
    assert parse_thresholds(text) == PatternThresholds(
        max_per_day=40,
        volume_factor=3.5,
        volume_min=20,
        work_start=time(7, 30),
        work_end=time(19),
        weekends_off=False,
        public_holidays=False,
        closed_days=frozenset({(12, 31)}),
        holidays=frozenset({date(2026, 6, 1)}),
        utc_offset=timedelta(hours=10),
        repeat_target=7,
        repeat_window=timedelta(minutes=30),
        bulk_distinct=90,
        repeat_deny=2,
        repeat_failure=9,
    )
