"""Statistics (F1-8, REC-10) against a synthetic population loaded into the real PostgreSQL.

Every figure is checked against an independent count: Python walks the synthetic CSV files the
loader read (each person's versions, the domain's JukiDate for dates and ages, the code table for
wards and cities) — not the service's SQL.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from juki.domain.dates import JukiDate
from juki.domain.lgcodes import for_prefecture
from juki.domain.reasons import ChangeReason
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.registry.load import load_population
from juki.services.statistics.request import StatsRequest
from juki.services.statistics.service import build_report, statistics_report
from juki.services.statistics.tables import StatsReport
from juki.store.db import Database, DbRole
from juki.synth import write_population

PERSONS = 2500
SEED = 11
TODAY = date(2026, 12, 5)
DATES = (date(2026, 9, 30), date(2025, 1, 1), date(2010, 4, 1))
BAND_LABELS = [f"{b * 5}〜{b * 5 + 4}歳" for b in range(20)] + ["100歳以上", "不詳"]


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stats-population")
    write_population(out, PERSONS, SEED)
    return out


@pytest.fixture
def loaded(db: Database, population: Path, tmp_path: Path) -> Database:
    load_population(
        {k: db.admin_conninfo for k in FileKind}, population, rejects_dir=tmp_path, workers_per_file=0
    )
    return db


# --- the independent count -------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def versions(population: Path, file: str) -> dict[str, list[dict[str, str]]]:
    """Each person's versions, oldest first (history rows by version, then the current row)."""
    people: dict[str, list[dict[str, str]]] = {}
    for row in sorted(_rows(population / f"{file}_history.csv"), key=lambda r: int(r["version"])):
        people.setdefault(row["juminhyo_code"], []).append(row)
    for row in _rows(population / f"{file}_current.csv"):
        people.setdefault(row["juminhyo_code"], []).append(row)
    return people


def effective_key(row: dict[str, str]) -> int:
    day = JukiDate.parse_canonical(row["change_date"])
    if day.year is None:
        notified = date.fromisoformat(row["notified_on"])
        return notified.year * 10000 + notified.month * 100 + notified.day
    return day.sort_key


TEN_DAYS = {"上旬": 5, "中旬": 15, "下旬": 25}


def band_of(birth_text: str, as_of: date) -> str:
    birth = JukiDate.parse_canonical(birth_text)
    day = birth.day if birth.day is not None else TEN_DAYS.get(birth.qualifier.value)
    if birth.year is None or birth.month is None or day is None or birth.end is not None:
        return "不詳"
    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, day))
    if age < 0:
        return "不詳"
    return BAND_LABELS[min(age // 5, 20)]


def expected_population(
    people: dict[str, list[dict[str, str]]], as_of: date, states: set[str], municipality: str
) -> Counter[tuple[str, str, str]]:
    """(市町村コード, sex, band label) → persons in effect on ``as_of``."""
    key = as_of.year * 10000 + as_of.month * 100 + as_of.day
    counts: Counter[tuple[str, str, str]] = Counter()
    for chain in people.values():
        in_effect = [v for v in chain if effective_key(v) <= key]
        if not in_effect:
            continue
        version = in_effect[-1]  # the highest version number among those in effect
        if version["status"] in states:
            counts[(version[municipality], version["sex"], band_of(version["birth_date"], as_of))] += 1
    return counts


def city_sum(counts: Counter[tuple[str, str, str]], city: str) -> int:
    lg = for_prefecture("14")
    return sum(n for (m, _, _), n in counts.items() if (c := lg.city_of(m)) is not None and c.code == city)


# --- what the report says --------------------------------------------------------------------


def table_rows(report: StatsReport, key: str) -> list[list[Any]]:
    return [list(r) for r in report.table(key).rows]


def report_for(db: Database, file: FileKind, as_of: date) -> StatsReport:
    with db.connect(DbRole.PREF if file is FileKind.PREF else DbRole.FUHYO, autocommit=True) as conn:
        return build_report(conn, StatsRequest(file, as_of))


@pytest.mark.parametrize("as_of", DATES)
def test_F1_8_population_as_of_a_date_by_municipality_sex_and_age_band(
    loaded: Database, population: Path, as_of: date
) -> None:
    """F1-8: the population in effect on the as-of date (the history makes past dates answerable),
    wards separately and summed per designated city, by sex and five-year band with a 不詳 band."""
    expected = expected_population(versions(population, "pref"), as_of, {"present"}, "municipality_code")
    report = report_for(loaded, FileKind.PREF, as_of)
    by_code = {r[0]: r for r in table_rows(report, "population_by_municipality")}
    total = by_code["140007"]
    assert total[2:] == [
        sum(n for (_, s, _), n in expected.items() if s == "1"),
        sum(n for (_, s, _), n in expected.items() if s == "2"),
        sum(expected.values()),
    ]
    assert total[4] > 0
    for code in {m for m, _, _ in expected}:
        assert by_code[code][4] == sum(n for (m, _, _), n in expected.items() if m == code), code
    for city in ("141003", "141305", "141500"):  # 横浜市, 川崎市, 相模原市: the sum of their wards
        assert by_code[city][4] == city_sum(expected, city)
        assert "（計）" in by_code[city][1]
    pyramid = {r[0]: r for r in table_rows(report, "population_by_age")}
    for label in BAND_LABELS:
        for column, sex in ((1, "1"), (2, "2")):
            want = sum(n for (_, s, b), n in expected.items() if s == sex and b == label)
            assert pyramid[label][column] == want, (label, sex)
    cross = table_rows(report, "population_by_municipality_age")
    some_ward = max(
        (m for m, _, _ in expected if for_prefecture("14").city_of(m)),
        key=lambda m: expected[(m, "2", "40〜44歳")],
    )
    row = next(r for r in cross if r[0] == some_ward and r[2] == "女")
    assert row[3 + BAND_LABELS.index("40〜44歳")] == expected[(some_ward, "2", "40〜44歳")]


BIRTHS = ("1985", "1985-03", "不詳", "2001-09-30", "2001-10-01", "1921-09-30")


def test_F1_8_unknown_births_are_in_the_unknown_band_and_a_birthday_counts_on_its_day(db: Database) -> None:
    """F1-8: a partial or 不詳 生年月日 is counted in 不詳; ages are completed years on the as-of
    date (a birthday on that very day counts); 100 and over is one band; a person whose record
    begins after the as-of date is not counted."""
    import orjson

    from juki.services.registry.intake import NotificationApplier, iter_lines
    from tests.factories import notification, pref_record

    items = [
        notification(
            "pref",
            "overseas_move_in",
            f"{91000000000 + i:011d}",
            record=pref_record(9100 + i, birth_date=birth),
            change_date="2026-09-01",
        )
        for i, birth in enumerate(BIRTHS)
    ]
    lines = b"\n".join(orjson.dumps(x) for x in items)
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo}, batch_size=100)
        results = list(applier.apply(iter_lines([lines]), source="test"))
    assert [r.status for r in results] == ["accepted"] * len(BIRTHS), results
    as_of = date(2026, 9, 30)
    expected = Counter(band_of(b, as_of) for b in BIRTHS)
    assert expected == Counter({"不詳": 3, "25〜29歳": 1, "20〜24歳": 1, "100歳以上": 1})  # the oracle
    pyramid = {r[0]: r[-1] for r in table_rows(report_for(db, FileKind.PREF, as_of), "population_by_age")}
    assert {label: n for label, n in pyramid.items() if n and label != "合計"} == expected
    before = table_rows(report_for(db, FileKind.PREF, date(2026, 8, 31)), "population_by_age")
    assert before[-1][-1] == 0  # their records begin on 2026-09-01


def test_F1_8_movements_per_month_by_reason_and_municipality(loaded: Database, population: Path) -> None:
    """F1-8: movements per month by 異動事由 (month of the 異動年月日) and municipality."""
    as_of = date(2026, 9, 30)
    report = report_for(loaded, FileKind.PREF, as_of)
    months = [
        f"{y:04d}-{m:02d}"
        for y, m in [(2025, 10), (2025, 11), (2025, 12)] + [(2026, i) for i in range(1, 10)]
    ]
    expected: Counter[tuple[str, str, str]] = Counter()
    for chain in versions(population, "pref").values():
        for v in chain:
            if v["change_date"][:7] in months:
                expected[(v["change_date"][:7], v["change_reason"], v["municipality_code"])] += 1
    summary = {r[0]: r for r in table_rows(report, "movements_by_reason")}
    assert report.table("movements_by_reason").columns[1:-1] == tuple(months)
    for reason in {r for _, r, _ in expected}:
        label = ChangeReason(reason).label
        assert summary[label][1:-1] == [
            sum(n for (mo, r, _), n in expected.items() if r == reason and mo == month) for month in months
        ]
    assert summary["合計"][-1] == sum(expected.values()) > 0
    detail = table_rows(report, "movements_by_municipality")
    (m, reason) = max(
        ((m, r) for _, r, m in expected),
        key=lambda k: sum(n for (_, r, m), n in expected.items() if (m, r) == k),
    )
    row = next(x for x in detail if x[0] == m and x[2] == ChangeReason(reason).label)
    assert row[-1] == sum(n for (_, r, mm), n in expected.items() if (mm, r) == (m, reason))


def test_F1_8_file_2_statistics_only_about_persons_abroad(loaded: Database, population: Path) -> None:
    """F1-8 / LEGAL §1: File 2 statistics count only 国外転出者 (状態区分 abroad), by the
    附票管理市町村; domestic 附票 records are not counted."""
    as_of = date(2026, 9, 30)
    people = versions(population, "fuhyo")
    expected = expected_population(people, as_of, {"abroad"}, "fuhyo_municipality_code")
    everyone = expected_population(people, as_of, {"abroad", "domestic"}, "fuhyo_municipality_code")
    report = report_for(loaded, FileKind.FUHYO, as_of)
    total = {r[0]: r for r in table_rows(report, "population_by_municipality")}["140007"]
    assert total[4] == sum(expected.values()) > 0
    assert sum(everyone.values()) > 10 * total[4]
    assert "国外転出者" in report.subject
    moved = sum(
        r[-1]
        for r in table_rows(report, "movements_by_municipality")
        if "（計）" not in r[1] and r[0] != "140007"
    )
    expect_moved = sum(
        1
        for chain in people.values()
        for v in chain
        if v["status"] == "abroad" and v["change_date"][:7] in StatsRequest(FileKind.FUHYO, as_of).months
    )
    assert moved == expect_moved


def test_REC_10_update_rejection_and_jlis_counts(loaded: Database) -> None:
    """REC-10: update counts per municipality and day, rejections by code, J-LIS query counts, and
    provision counts per requester, task and result (from the provision records)."""
    import orjson

    from juki.services.jlis.communication_records import QueryKind, Requester, finish, keys_digest, start
    from juki.services.registry.intake import NotificationApplier, iter_lines
    from tests.factories import notification, pref_record

    good = [
        notification(
            "pref",
            "birth",
            f"{90000000000 + i:011d}",
            record=pref_record(9000 + i, birth_date="2026-11-01"),
            change_date="2026-11-01",
        )
        for i in range(3)
    ]
    bad = notification("pref", "death", "12345678906", change_date="2026-11-01")  # not present
    lines = b"\n".join(orjson.dumps(x) for x in (*good, bad))
    with loaded.connect(DbRole.PREF) as pref, loaded.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo}, batch_size=100)
        results = list(applier.apply(iter_lines([lines]), source="test"))
    accepted = [r for r in results if r.status == "accepted"]
    rejected = [r for r in results if r.status == "rejected"]
    with loaded.connect(DbRole.PREF, autocommit=True) as conn:
        for outcome in ("found", "found", "not_found"):
            log_id = start(
                conn,
                FileKind.PREF,
                peer="https://national.invalid",
                kind=QueryKind.BASIC4,
                digest=keys_digest(QueryKind.BASIC4, {"n": outcome}),
                requester=Requester(operator="op", terminal="term"),
                function="F1-5",
            )
            finish(conn, FileKind.PREF, log_id, outcome, 1, 200, None)
    from juki.domain.provision import KeyType, Method, ResultCode
    from juki.services.provision import records
    from juki.services.provision.catalog import load_catalog
    from tests.services.audit.support import actor

    clerk = actor(loaded, "teikyo1")
    given = [ResultCode.MATCH, ResultCode.MATCH, ResultCode.NOT_FOUND]
    with loaded.connect(DbRole.PREF) as conn:
        catalog = load_catalog(conn)
        task = catalog.task("kyoiku", "tokubetsu-shien")
        assert task is not None
        basis = records.Basis.of(task, FileKind.PREF, catalog.version)
        for result in given:
            records.record_provision(
                conn,
                FileKind.PREF,
                clerk,
                basis,
                key_type=KeyType.BASIC4,
                method=Method.SCREEN,
                result=result,
                juminhyo_code=good[0]["juminhyo_code"],
                items=("name_kanji",) if result is ResultCode.MATCH else (),
            )
        conn.commit()
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    report = report_for(loaded, FileKind.PREF, today)
    provided = {(r[0], r[2]): r for r in table_rows(report, "provisions")}
    assert provided[(task.requester.name, "一致")][-1] == given.count(ResultCode.MATCH)
    assert provided[(task.requester.name, "該当なし")][-1] == given.count(ResultCode.NOT_FOUND)
    assert provided[("合計", "")][-1] == len(given)
    assert report.omitted == ()
    updates = {r[0]: r for r in table_rows(report, "updates_by_municipality_day")}
    sender = good[0]["municipality_code"]
    assert updates[sender][-2] == len(accepted) == 3  # today's column, then 計
    assert updates["140007"][-1] == 3
    rejections = {r[0]: r for r in table_rows(report, "rejections_by_code")}
    for result in rejected:
        assert rejections[result.error_code][-1] == sum(
            1 for r in rejected if r.error_code == result.error_code
        )
    jlis = {(r[0], r[1]): r for r in table_rows(report, "jlis_queries")}
    assert jlis[("4情報", "該当あり")][-1] == 2
    assert jlis[("4情報", "該当なし")][-1] == 1


def test_F1_8_REC_10_rights_checked_and_logged(loaded: Database) -> None:
    """F1-8 / REC-10: only the statistics right gets the tables; allow and deny are logged."""
    from tests.interfaces.terminal_web_support import log_rows
    from tests.services.audit.support import actor

    request = StatsRequest.parse(FileKind.PREF, "2026-09-30", today=TODAY)
    with loaded.connect(DbRole.PREF, autocommit=True) as conn:
        stranger = actor(loaded, "kensaku9", roles=frozenset({"pref_operator"}))
        with pytest.raises(Refusal) as refused:
            statistics_report(conn, stranger, request, output="page")
        assert refused.value.code == "T_FORBIDDEN"
        clerk = actor(loaded, "tokei1", roles=frozenset({"statistics"}))
        report = statistics_report(conn, clerk, request, output="xlsx")
    assert report.table("population_by_municipality").rows
    rows = log_rows(loaded, "function = 'statistics'")
    assert [(r["outcome"], r["detail"].get("output")) for r in rows] == [("deny", "page"), ("allow", "xlsx")]
    assert rows[1]["target"] == "as_of:2026-09-30" and rows[1]["file"] == "pref"


@pytest.mark.parametrize("text", ["2026-13-01", "20260101", "2027-01-01", "1900-01-01", "２０２６-01-01"])
def test_F1_8_as_of_date_is_validated(text: str) -> None:
    """F1-8: an as-of date that is not a real day up to today is T_STATS_DATE, never a 500."""
    with pytest.raises(Refusal) as refused:
        StatsRequest.parse(FileKind.PREF, text, today=TODAY)
    assert refused.value.code == "T_STATS_DATE"


@pytest.mark.parametrize("file", [FileKind.PREF, FileKind.FUHYO])
def test_F1_8_the_as_of_lookup_and_the_months_use_the_change_date_indexes(
    db: Database, file: FileKind
) -> None:
    """F1-8 (migrations 0036, 0047): the statistics' date predicates match the C-collation indexes
    on the 異動年月日, so the persons changed after the as-of date and the months' rows are found
    through an index, not by another scan of the whole file."""
    from juki.files import file_spec
    from juki.services.statistics.residents import earlier_versions_sql, movement_sql

    spec = file_spec(file)
    with db.connect(spec.db_role) as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + earlier_versions_sql(spec), _params(file)))
        plan += "\n".join(r[0] for r in conn.execute("EXPLAIN " + movement_sql(spec), _params(file)))
    current_index = {FileKind.PREF: "identity_statistics", FileKind.FUHYO: "fuhyo_change_date"}[file]
    assert f" {current_index} " in plan, plan
    assert f" {spec.history_table}_change_date " in plan, plan


def _params(file: FileKind) -> dict[str, object]:
    request = StatsRequest(file, date(2026, 9, 30))
    return {
        "as_of": request.as_of.isoformat(),
        "as_of_date": request.as_of,
        "as_of_key": request.as_of_key,
        "first_month": request.first_month.isoformat()[:7],
        "end_month": request.end_month.isoformat()[:7],
    }


@pytest.mark.parametrize("file", [FileKind.PREF, FileKind.FUHYO])
def test_F1_8_the_population_is_an_index_only_scan_of_the_covering_index(
    loaded: Database, file: FileKind
) -> None:
    """F1-8 (issue 13: the full set for a date in ≤ 10 s at 10M; migration 0047): the population
    count, the part that reads every person, is planned as an index-only scan of the statistics
    covering index under the statistics' own planner settings — not a read of the ~350-byte rows.
    Fails if a column the statement reads is missing from the index (no index-only plan exists, so
    another index or the heap is read) or the File 2 statement stops matching its partial index."""
    from juki.files import file_spec
    from juki.services.statistics.residents import _plan_for_statistics, population_sql

    spec = file_spec(file)
    with loaded.connect(autocommit=True) as admin:  # as after autovacuum: the pages are all-visible
        admin.execute(f"VACUUM ANALYZE {spec.current}")
    with loaded.connect(spec.db_role) as conn:
        _plan_for_statistics(conn)
        # 2,500 persons: a table this small would be read whole; at 10M it never is. Index-only
        # scans need enable_indexscan, so the other indexes stay possible and the costs decide.
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + population_sql(spec), _params(file)))
    index = {FileKind.PREF: "identity_statistics", FileKind.FUHYO: "fuhyo_statistics"}[file]
    assert f"Index Only Scan using {index} " in plan, plan
