"""Bulk load of the synthetic population (foundation issue item 6)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki.domain.records import PREF_CSV_COLUMNS, FileKind
from juki.services.registry.load import LoadError, load_population
from juki.services.registry.rows import PREF_COLUMNS, Meta, build_pref_row
from juki.store.db import Database, DbRole
from juki.synth import write_population


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("population")
    write_population(out, 3000, 7)
    return out


def load(db: Database, src: Path, rejects: Path) -> dict[str, Any]:
    reports = load_population(
        {k: db.admin_conninfo for k in FileKind if (src / f"{k.value}_current.csv").exists()},
        src,
        rejects_dir=rejects,
    )
    return {r.file: r for r in reports}


def q(db: Database, sql: str) -> Any:
    with db.connect() as conn:
        return conn.execute(sql).fetchall()


def _count_rows(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_load_puts_every_row_in_place_with_indexes_rebuilt(
    db: Database, population: Path, tmp_path: Path
) -> None:
    indexes_before = q(
        db, "SELECT indexname FROM pg_indexes WHERE schemaname IN ('pref', 'fuhyo') ORDER BY 1"
    )
    reports = load(db, population, tmp_path)
    assert reports["pref"].mode == "empty-fast"
    assert reports["pref"].persons == _count_rows(population / "pref_current.csv") == 3000
    assert reports["pref"].history_rows == _count_rows(population / "pref_history.csv")
    assert reports["fuhyo"].persons == _count_rows(population / "fuhyo_current.csv")
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(3000,)]
    assert (
        q(db, "SELECT indexname FROM pg_indexes WHERE schemaname IN ('pref', 'fuhyo') ORDER BY 1")
        == indexes_before
    )
    # 更新順番号 continue after the load, and every history version points at its successor.
    assert q(db, "SELECT last_value FROM pref.update_seq") == q(
        db, "SELECT max(update_seq) FROM pref.identity_current"
    )
    broken = q(
        db,
        """SELECT count(*) FROM pref.identity_history h
            WHERE h.superseded_by_seq <= h.update_seq OR h.retain_until IS NULL""",
    )
    assert broken == [(0,)]
    versions = q(
        db,
        """SELECT count(*) FROM pref.identity_current c
            WHERE c.version <> 1 + (SELECT count(*) FROM pref.identity_history h
                                     WHERE h.juminhyo_code = c.juminhyo_code)""",
    )
    assert versions == [(0,)]


def test_loaded_rows_equal_what_the_ledger_would_build(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """The loader and the update ledger derive the server-side columns the same way."""
    load(db, population, tmp_path)
    with open(population / "pref_current.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:200]
    with db.connect() as conn:
        cur = conn.execute(
            "SELECT * FROM pref.identity_current WHERE juminhyo_code = ANY(%s) ORDER BY juminhyo_code",
            ([r["juminhyo_code"] for r in rows],),
        )
        names = [d.name for d in cur.description or []]
        stored = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    for source in rows:
        db_row = stored[source["juminhyo_code"]]
        meta = Meta(
            juminhyo_code=source["juminhyo_code"],
            change_reason=source["change_reason"],
            change_date=db_row["change_date"],
            status=source["status"],
            end_kind=source["end_kind"] or None,
            notified_on=db_row["notified_on"],
            update_seq=db_row["update_seq"],
            version=db_row["version"],
            updated_at=db_row["updated_at"],
            operator_id=db_row["operator_id"],
            terminal_id=db_row["terminal_id"],
            municipality_code=source["municipality_code"],
        )
        built = build_pref_row({k: source[k] for k in PREF_CSV_COLUMNS[1:11]}, meta)
        for column in (
            "seion_kana",
            "seion_family",
            "seion_given",
            "address_key",
            "birth_key",
            "name_gaiji_count",
            "address_gaiji_count",
            "gaiji_flag",
            "name_kanji",
            "address",
        ):
            assert built[column] == db_row[column], (column, source["juminhyo_code"])
    assert set(PREF_COLUMNS) <= set(next(iter(stored.values())))


def test_bad_rows_go_to_the_rejects_file_and_the_rest_loads(
    db: Database, population: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    lines = (population / "pref_current.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:50]
    broken = body[3].split(",")
    broken[8] = "123456789010"  # 個人番号 with a wrong check digit
    body[3] = ",".join(broken)
    (src / "pref_current.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    reports = load(db, src, tmp_path / "rejects")
    assert reports["pref"].persons == 48 and reports["pref"].rejected == 1
    assert reports["pref"].reject_codes == {"E_MY_NUMBER_INVALID": 1}
    rejects = Path(str(reports["pref"].rejects_path)).read_text(encoding="utf-8")
    assert ",5,E_MY_NUMBER_INVALID," in rejects  # line 5 of the file (header is line 1)


def test_incremental_load_keeps_indexes_live_and_refuses_a_clash(
    db: Database, population: Path, tmp_path: Path
) -> None:
    load(db, population, tmp_path)
    with pytest.raises(LoadError, match="juki apply") as refused:
        load(db, population, tmp_path)  # the same people again: refused whole, nothing half-loaded
    assert "UniqueViolation" not in str(refused.value) and "COPY" not in str(refused.value)
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(3000,)]


@pytest.mark.parametrize(("column", "told"), [(8, "同じ個人番号"), (0, "同じ住民票コード")])
def test_D1_A3_a_number_twice_in_the_csv_is_named_for_the_operator(
    db: Database, population: Path, tmp_path: Path, column: int, told: str
) -> None:
    """Two persons with one 個人番号 (or one 住民票コード) in the CSV stop the load as a whole (the
    unique index is built at the end), with the reason named and without the number itself; it used
    to say the code was already registered in the database, which was empty."""
    src = tmp_path / "src"
    src.mkdir()
    lines = (population / "pref_current.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:20]
    first, second = body[2].split(","), body[3].split(",")
    assert first[column] and first[column] != second[column]
    second[column] = first[column]
    body[3] = ",".join(second)
    (src / "pref_current.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match=told) as refused:
        load(db, src, tmp_path / "rejects")
    assert first[column] not in str(refused.value) and "既に登録" not in str(refused.value)
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(0,)]


def test_wrong_header_is_a_clear_error(db: Database, tmp_path: Path) -> None:
    (tmp_path / "pref_current.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(LoadError, match="header"):
        load(db, tmp_path, tmp_path / "rejects")


def test_inline_conversion_loads_the_same_as_worker_processes(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """The result must not depend on where rows are converted. On 2 cores the default is inline
    (every other test here); this one runs the worker processes."""
    from juki.services.registry.load import load_file

    report = load_file(db.admin_conninfo, FileKind.PREF, population, rejects_dir=tmp_path, workers=2)
    assert report.persons == 3000 and report.rejected == 0
    assert q(db, "SELECT count(*) FROM pref.identity_history") == [(report.history_rows,)]


def test_hardening_8_S35_bulk_load_is_an_administrators_operation(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """The fast load truncates and drops indexes, DDL the server's login role no longer has: over the file
    role's connection the load stops with a clear error before touching anything; the administrator's
    connection loads as the file's owner role."""
    from juki.services.registry.load import load_file

    with pytest.raises(LoadError, match="管理者の操作"):
        load_file(db.conninfo(DbRole.PREF), FileKind.PREF, population, rejects_dir=tmp_path, workers=0)
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(0,)]
    report = load_file(db.admin_conninfo, FileKind.PREF, population, rejects_dir=tmp_path, workers=0)
    assert report.mode == "empty-fast" and report.persons == 3000
    owners = q(
        db,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'pref'::regnamespace",
    )
    assert owners == [("juki_pref_owner",)]  # the rebuilt indexes too


def _accounted(report: Any, rejects_dir: Path) -> dict[tuple[str, int], str]:
    """(file, line) → code of every line in the rejects file."""
    path = rejects_dir / "pref.rejects.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == report.rejected
    return {(r["file"], int(r["line"])): r["code"] for r in rows}


def test_hardening_4_D1_A3_an_unterminated_quote_spoils_only_its_own_line(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """Issue item 4: 7 data lines, one with an unterminated quote: 6 loaded, 1 rejected (the CSV
    reader used to swallow the following lines into the quoted field: 4 loaded, 1 rejected, 2 lost)."""
    src = tmp_path / "src"
    src.mkdir()
    lines = (population / "pref_current.csv").read_text(encoding="utf-8").splitlines()
    body = lines[1:8]
    fields = body[2].split(",")
    fields[1] = '"' + fields[1]  # an opening quote that is never closed
    body[2] = ",".join(fields)
    (src / "pref_current.csv").write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    report = load(db, src, tmp_path / "rejects")["pref"]
    assert (report.persons, report.rejected) == (6, 1)
    assert _accounted(report, tmp_path / "rejects") == {("pref_current.csv", 4): "E_LOAD_CSV"}
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(6,)]


def test_hardening_4_D1_A3_history_lines_of_a_rejected_person_are_in_the_rejects_file(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """Every history line ends up loaded or rejected too: a rejected person's versions are listed, and
    an unreadable history line is rejected by itself."""
    src = tmp_path / "src"
    src.mkdir()
    current = (population / "pref_current.csv").read_text(encoding="utf-8").splitlines()
    history = (population / "pref_history.csv").read_text(encoding="utf-8").splitlines()
    with_history = [h.split(",")[0] for h in history[1:]]
    persons = [c for c in current[1:] if c.split(",")[0] in set(with_history)][:5]
    codes = [p.split(",")[0] for p in persons]
    kept = [h for h in history[1:] if h.split(",")[0] in codes]
    broken = persons[1].split(",")
    broken[8] = "123456789010"  # 個人番号 with a wrong check digit: the whole person is rejected
    persons[1] = ",".join(broken)
    kept.insert(0, 'x,"never closed')  # unreadable, before the first person's history
    (src / "pref_current.csv").write_text("\n".join([current[0], *persons]) + "\n", encoding="utf-8")
    (src / "pref_history.csv").write_text("\n".join([history[0], *kept]) + "\n", encoding="utf-8")
    report = load(db, src, tmp_path / "rejects")["pref"]
    rejected = _accounted(report, tmp_path / "rejects")
    second = 1 + sum(1 for h in kept if h.split(",")[0] == codes[1])
    assert sum(1 for f, _ in rejected if f == "pref_history.csv") == second
    assert ("pref_current.csv", 3) in rejected and ("pref_history.csv", 2) in rejected
    assert report.persons + report.history_rows + report.rejected == len(persons) + len(kept)


_FIELD = st.text(alphabet=st.sampled_from('a1,"\r\x00\\\t あ'), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    damage=st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 30), _FIELD | st.binary(max_size=4).map(repr)),
        max_size=6,
    ),
    raw_bytes=st.lists(st.tuples(st.integers(0, 9), st.binary(max_size=8)), max_size=2),
)
def test_hardening_4_D1_A3_every_line_of_a_malformed_csv_is_loaded_or_rejected(
    db: Database, population: Path, tmp_path_factory: pytest.TempPathFactory, damage: Any, raw_bytes: Any
) -> None:
    """Property: whatever is wrong with the lines, loaded + rejected = data lines, and each rejected
    line is in the rejects file with a code."""
    from juki.services.registry.load import load_file

    lines = (population / "pref_current.csv").read_bytes().split(b"\n")
    header, body = lines[0], [bytearray(line) for line in lines[1:11]]
    for index, position, text in damage:
        line = body[index]
        cut = min(position, len(line))
        body[index] = line[:cut] + text.encode("utf-8") + line[cut:]
    for index, blob in raw_bytes:
        body[index] += blob.replace(b"\n", b"")
    src = tmp_path_factory.mktemp("malformed")
    (src / "pref_current.csv").write_bytes(b"\n".join([header, *map(bytes, body)]) + b"\n")
    with db.connect() as conn:
        conn.execute("TRUNCATE pref.identity_current, pref.identity_history")
    report = load_file(db.admin_conninfo, FileKind.PREF, src, rejects_dir=src / "rejects", workers=0)
    rejected = _accounted(report, src / "rejects")
    assert report.persons + report.rejected == len(body)
    assert {line for _, line in rejected} <= set(range(2, 2 + len(body)))
    assert len(rejected) == report.rejected  # one reject row per line, never two for one line
    assert q(db, "SELECT count(*) FROM pref.identity_current") == [(report.persons,)]


def test_a_file_1_only_reason_in_file_2_is_rejected_not_a_crash(
    db: Database, population: Path, tmp_path: Path
) -> None:
    """Issue 14 item 4 (found by test_load_property): a 附票 row whose reason applies only to File 1
    stopped the whole load with a KeyError; it is rejected with the ledger's code and the rest loads."""
    src = tmp_path / "src"
    src.mkdir()
    lines = (population / "fuhyo_current.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:30]
    at = header.split(",").index("change_reason")
    broken = body[2].split(",")
    broken[at] = "household_split"  # 世帯分離: File 1 only
    body[2] = ",".join(broken)
    (src / "fuhyo_current.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    report = load(db, src, tmp_path / "rejects")["fuhyo"]
    assert (report.persons, report.rejected) == (28, 1)
    assert report.reject_codes == {"E_REASON_NOT_FOR_FILE": 1}
    rejects = Path(str(report.rejects_path)).read_text(encoding="utf-8")
    assert ",4,E_REASON_NOT_FOR_FILE," in rejects
