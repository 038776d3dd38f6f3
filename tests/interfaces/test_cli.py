"""The `juki` command line, driven in-process (typer's CliRunner) against a real PostgreSQL.

The commands reach the test database the way an operator's shell would: through JUKI_DATABASE_URL
and JUKI_DATA_DIR. Human messages go to stderr (rich), machine output (--json) to stdout.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner, Result

from juki.entry import app, main  # the full `juki` command, simulators included
from juki.interfaces.common import EXIT_REJECTED
from juki.services.operations.retention import RETENTION
from juki.store.db import Database
from tests.factories import fuhyo_record, juminhyo, notification, pref_record

Run = Callable[..., Result]
COUNT_TABLES = (
    "pref.identity_current",
    "pref.identity_history",
    "fuhyo.fuhyo_current",
    "fuhyo.fuhyo_history",
)


@pytest.fixture
def juki(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run `juki ARGS…` in-process with the environment pointing at the test database."""
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_JUMINHYO_CHECK_DIGIT", raising=False)
    monkeypatch.delenv("JUKI_DATABASE_NAME", raising=False)
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    yield run


def one(db: Database, sql: str, *args: Any) -> Any:
    with db.connect() as conn:
        row = conn.execute(sql, args).fetchone()
        assert row is not None
        return row[0] if len(row) == 1 else row


def counts(db: Database) -> dict[str, int]:
    return {table: one(db, f"SELECT count(*) FROM {table}") for table in COUNT_TABLES}


def json_lines(result: Result) -> list[dict[str, Any]]:
    """Every stdout line must be a JSON document (nothing human-facing leaks onto stdout)."""
    return [json.loads(line) for line in result.stdout.splitlines()]


def json_doc(result: Result) -> Any:
    return json.loads(result.stdout)


def explain(result: Result) -> str:
    return f"exit={result.exit_code} exc={result.exception!r}\nstdout={result.stdout}\nstderr={result.stderr}"


def write_jsonl(path: Path, *items: dict[str, Any] | bytes) -> Path:
    path.write_bytes(b"\n".join(i if isinstance(i, bytes) else orjson.dumps(i) for i in items) + b"\n")
    return path


def birth(n: int) -> dict[str, Any]:
    return notification(
        "pref", "birth", juminhyo(n), record=pref_record(n, birth_date="2026-09-01"), change_date="2026-09-01"
    )


def fuhyo_birth(n: int) -> dict[str, Any]:
    return notification(
        "fuhyo", "birth", juminhyo(n), record=fuhyo_record(birth_date="2026-09-01"), change_date="2026-09-01"
    )


def csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1  # header


# 1 ------------------------------------------------------------------------------------------------


def test_apply_json_mixed_file_reports_each_line_and_is_idempotent(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    good1, good2, good_fuhyo = birth(101), birth(102), fuhyo_birth(103)
    sjis = orjson.dumps(birth(104)).decode().encode("cp932")  # a Shift_JIS line (山田 is not UTF-8 there)
    assert sjis != orjson.dumps(birth(104))
    unknown_reason = notification("pref", "teleportation", juminhyo(105), record=pref_record(105))
    bad_code = notification("pref", "birth", "1234567890X", record=pref_record(106, birth_date="2026-09-01"))
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        good1,
        b'{"file": "pref", "reason": ',
        sjis,
        good_fuhyo,
        unknown_reason,
        bad_code,
        good2,
    )
    expected = [
        ("accepted", None),
        ("rejected", "E_JSON"),
        ("rejected", "E_ENCODING"),
        ("accepted", None),
        ("rejected", "E_REASON_UNKNOWN"),
        ("rejected", "E_JUMINHYO_CODE_FORMAT"),
        ("accepted", None),
    ]

    first = juki("apply", path, "--json")
    assert first.exit_code == EXIT_REJECTED == 3, explain(first)
    results = sorted(json_lines(first), key=lambda r: r["line"])
    assert [r["line"] for r in results] == list(range(1, 8))  # exactly one result per input line
    assert [(r["status"], r.get("error", {}).get("code")) for r in results] == expected
    for r in results:
        if r["status"] == "rejected":
            assert r["error"]["message"], r  # a Japanese message for the operator
        else:
            assert isinstance(r["update_seq"], int) and r["update_seq"] >= 1
    assert results[0]["juminhyo_code"] == good1["juminhyo_code"]
    assert results[0]["notification_id"] == good1["notification_id"]
    assert "受理 3 件 / 重複 0 件 / エラー 4 件" in first.stderr

    # The valid ones are really in the files.
    with db.connect() as conn:
        pref_codes = {row[0] for row in conn.execute("SELECT juminhyo_code FROM pref.identity_current")}
    assert pref_codes == {good1["juminhyo_code"], good2["juminhyo_code"]}
    assert one(
        db, "SELECT name_kanji, address FROM pref.identity_current WHERE juminhyo_code = %s", juminhyo(101)
    ) == (
        "山田　太郎",
        "神奈川県横浜市鶴見区豊岡町1番1号",
    )
    assert one(db, "SELECT juminhyo_code FROM fuhyo.fuhyo_current") == good_fuhyo["juminhyo_code"]
    inbox = "SELECT (SELECT count(*) FROM pref.notification_inbox) + (SELECT count(*) FROM fuhyo.notification_inbox)"
    assert one(db, inbox) == 7  # every line has its receipt

    # Same file again: accepted lines are duplicates, rejected ones are rejected again, nothing changes.
    before = counts(db)
    second = juki("apply", path, "--json")
    assert second.exit_code == EXIT_REJECTED, explain(second)
    again = sorted(json_lines(second), key=lambda r: r["line"])
    assert [(r["status"], r.get("error", {}).get("code")) for r in again] == [
        ("duplicate" if status == "accepted" else status, code) for status, code in expected
    ]
    assert "受理 0 件 / 重複 3 件 / エラー 4 件" in second.stderr
    assert counts(db) == before


# 2 ------------------------------------------------------------------------------------------------


def test_apply_all_valid_exits_zero_with_japanese_summary(juki: Run, db: Database, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", birth(201), birth(202), fuhyo_birth(203))
    result = juki("apply", path)
    assert result.exit_code == 0, explain(result)
    assert "受理 3 件 / 重複 0 件 / エラー 0 件" in result.stderr
    assert "受理" in result.stderr.split("受理 3 件")[0]  # the per-line report (human mode)
    assert result.stdout == ""  # without --json, stdout stays empty
    assert one(db, "SELECT count(*) FROM pref.identity_current") == 2
    assert one(db, "SELECT count(*) FROM fuhyo.fuhyo_current") == 1


# 3 ------------------------------------------------------------------------------------------------


def test_apply_with_bogus_file_option_is_a_usage_error(juki: Run, db: Database, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", birth(301))
    result = juki("apply", "--file", "bogus", path)
    assert result.exit_code == 2, explain(result)
    assert "--file" in result.stderr and "auto / pref / fuhyo" in result.stderr
    assert result.stdout == ""
    assert one(db, "SELECT count(*) FROM pref.notification_inbox") == 0  # nothing was applied


def test_apply_of_a_missing_file_is_a_usage_error(juki: Run, tmp_path: Path) -> None:
    result = juki("apply", tmp_path / "nope.jsonl")
    assert result.exit_code == 2, explain(result)
    assert "nope.jsonl" in result.stderr


# 4 + 5 --------------------------------------------------------------------------------------------


def test_synth_load_reload_and_apply_a_synthetic_stream(juki: Run, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "population"
    synth = juki("synth", "--persons", 300, "--seed", 3, "--out", out, "--json")
    assert synth.exit_code == 0, explain(synth)
    summary = json_doc(synth)
    names = ("pref_current", "pref_history", "fuhyo_current", "fuhyo_history")
    rows = {name: csv_rows(out / f"{name}.csv") for name in names}
    assert summary["persons"] == 300 == rows["pref_current"]
    assert {name: summary[name] for name in names} == rows
    assert rows["pref_history"] > 0 and rows["fuhyo_current"] > 0 and rows["fuhyo_history"] > 0

    # 4. load into the empty database
    load = juki("load", out, "--json")
    assert load.exit_code == 0, explain(load)
    reports = {r["file"]: r for r in json_doc(load)}
    assert set(reports) == {"pref", "fuhyo"}
    assert reports["pref"]["persons"] == rows["pref_current"]
    assert reports["pref"]["history_rows"] == rows["pref_history"]
    assert reports["fuhyo"]["persons"] == rows["fuhyo_current"]
    assert reports["fuhyo"]["history_rows"] == rows["fuhyo_history"]
    assert reports["pref"]["rejected"] == reports["fuhyo"]["rejected"] == 0
    loaded = counts(db)
    assert loaded == {
        "pref.identity_current": rows["pref_current"],
        "pref.identity_history": rows["pref_history"],
        "fuhyo.fuhyo_current": rows["fuhyo_current"],
        "fuhyo.fuhyo_history": rows["fuhyo_history"],
    }

    # a second load into the now non-empty files fails as a whole, leaving no partial rows
    reload = juki("load", out, "--json")
    assert reload.exit_code != 0, explain(reload)
    assert isinstance(reload.exception, RuntimeError), explain(reload)  # LoadError, not a crash
    assert reload.stdout == ""  # no success report
    assert counts(db) == loaded

    # 5. a synthetic change stream against that population: each outcome is the one synth promised
    stream = tmp_path / "changes.jsonl"
    synth_changes = juki(
        "synth",
        "--changes",
        200,
        "--persons",
        300,
        "--seed",
        3,
        "--invalid-share",
        0.1,
        "--out",
        stream,
        "--json",
    )
    assert synth_changes.exit_code == 0, explain(synth_changes)
    promised = json_doc(synth_changes)
    assert promised["changes"] == 200
    expected: dict[str, int] = promised["expected"]
    assert sum(expected.values()) == 200
    assert expected.get("accepted", 0) > 0 and len(expected) > 2  # some valid, some deliberately invalid
    n_lines = sum(1 for line in stream.read_bytes().split(b"\n") if line.strip())
    assert n_lines == 200

    applied = juki("apply", stream, "--json")
    results = json_lines(applied)
    assert sorted(r["line"] for r in results) == list(range(1, 201))
    outcomes = Counter(r["error"]["code"] if r["status"] == "rejected" else r["status"] for r in results)
    assert dict(outcomes) == expected
    rejected = sum(v for k, v in expected.items() if k.startswith("E_"))
    assert applied.exit_code == (EXIT_REJECTED if rejected else 0), explain(applied)
    accepted = sum(1 for r in results if r["status"] == "accepted")
    assert accepted == expected["accepted"]
    # one outbox notice per accepted change (the bulk load itself notifies nobody)
    assert (
        one(db, "SELECT count(*) FROM pref.outbox") + one(db, "SELECT count(*) FROM fuhyo.outbox") == accepted
    )


def test_load_failure_is_one_clear_line_for_the_operator(
    juki: Run,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through the real entry point (`main`), a failing load is exit 1 and a one-line error, no traceback."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(sys, "argv", ["juki", "load", str(empty)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "エラー:" in err and "pref_current.csv" in err
    assert "Traceback" not in err


def test_operator_error_message_survives_brackets_in_the_path(
    juki: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "x[/bold]y"
    monkeypatch.setattr(sys, "argv", ["juki", "load", str(missing)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert "x[/bold]y" in capsys.readouterr().err


def test_apply_human_mode_prints_rejections_quoting_brackets_verbatim(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    odd = notification("pref", "[/b]", juminhyo(650), record=pref_record(650))
    path = write_jsonl(tmp_path / "odd.jsonl", odd, birth(651))
    result = juki("apply", path)
    assert result.exit_code == EXIT_REJECTED, explain(result)
    assert "E_REASON_UNKNOWN" in result.stderr and "[/b]" in result.stderr
    assert "受理 1 件 / 重複 0 件 / エラー 1 件" in result.stderr


# 6 ------------------------------------------------------------------------------------------------


def test_purge_json_reports_every_rule_and_purges_expired_history(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    """R-02/R-04: a superseded version is kept until its 150 years have passed, then the purge
    (decided by the system itself) deletes it and nothing else."""
    moved = notification(
        "pref",
        "relocation",
        juminhyo(601),
        record=pref_record(601, birth_date="2026-09-01", address="神奈川県横浜市鶴見区鶴見中央二丁目3番4号"),
        change_date="2026-10-01",
    )
    path = write_jsonl(tmp_path / "two.jsonl", birth(601), moved)
    applied = juki("apply", path, "--json")
    assert applied.exit_code == 0, explain(applied)
    assert one(db, "SELECT count(*) FROM pref.identity_history") == 1

    clean = juki("purge", "--json")
    assert clean.exit_code == 0, explain(clean)
    report = json_doc(clean)
    # The one retention table: every kind with a purge, nothing removed yet.
    assert report == {kind.kind: 0 for kind in RETENTION if kind.purge is not None}
    assert report["pref_provision_records"] == 0

    with db.connect() as conn:  # pretend the 150 years have passed for the superseded version
        conn.execute("UPDATE pref.identity_history SET retain_until = DATE '2000-01-01'")
    purged = juki("purge", "--json")
    assert purged.exit_code == 0, explain(purged)
    assert json_doc(purged)["pref_history"] == 1
    assert one(db, "SELECT count(*) FROM pref.identity_history") == 0
    assert one(db, "SELECT count(*) FROM pref.identity_current") == 1  # the current record stays


# 7 ------------------------------------------------------------------------------------------------


def test_db_status_json_with_external_database(juki: Run, db: Database, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "one.jsonl", birth(701), fuhyo_birth(702))
    assert juki("apply", path).exit_code == 0
    result = juki("db", "status", "--json")
    assert result.exit_code == 0, explain(result)
    info = json_doc(result)
    assert info["external"] is True
    assert info["data_dir"] == str(tmp_path / "data")
    assert "running" not in info  # no embedded cluster is consulted
    c = info["counts"]
    assert isinstance(c, dict)
    assert c["pref_present"] == 1 and c["pref_ended"] == 0 and c["pref_history"] == 0
    assert c["fuhyo_domestic"] == 1
    assert c["pref_inbox"] == c["fuhyo_inbox"] == {"accepted": 1}
    assert c["pref_outbox"] == c["fuhyo_outbox"] == {"pending": 1}


# 8 ------------------------------------------------------------------------------------------------


def _all_commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (sub)command of the click tree typer builds, with its argument path."""
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _all_commands(sub, (*path, name))


def test_help_for_juki_and_bench(juki: Run) -> None:
    top = juki("--help")
    assert top.exit_code == 0, explain(top)
    for name in (
        "apply",
        "synth",
        "load",
        "purge",
        "migrate",
        "demo",
        "db",
        "bench",
        "serve",
        "sim",
        "relay",
        "pki",
    ):
        assert name in top.stdout
    bench = juki("bench", "--help")
    assert bench.exit_code == 0, explain(bench)
    assert "load" in bench.stdout and "update" in bench.stdout


def test_every_command_has_help(juki: Run) -> None:
    commands = list(_all_commands(get_command(app)))
    assert len(commands) >= 12
    for path, command in commands:
        assert (command.help or "").strip(), f"juki {' '.join(path)} has no help text"
        result = juki(*path, "--help")
        assert result.exit_code == 0, f"juki {' '.join(path)} --help: {explain(result)}"
        assert "Usage" in result.stdout


def test_hardening_1_S38_apply_rejects_nul_deep_and_duplicate_key_lines_and_applies_the_rest(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    """`juki apply` used to die with a traceback on a \\u0000 or deeply nested line."""
    nul = orjson.dumps(birth(140)).replace(b'"sex"', b'"x\\u0000":1,"sex"')
    deep = b"[" * 400 + b"]" * 400
    dup = orjson.dumps(birth(141)).replace(b'"reason"', b'"reason":"birth","reason"')
    path = write_jsonl(tmp_path / "bad.jsonl", birth(142), nul, deep, dup, birth(143))
    result = juki("apply", path, "--json")
    assert result.exit_code == EXIT_REJECTED, explain(result)
    assert "Traceback" not in result.output
    results = sorted(json_lines(result), key=lambda r: r["line"])
    assert [(r.get("error") or {}).get("code") for r in results] == [
        None,
        "E_JSON_NUL",
        "E_JSON_TOO_DEEP",
        "E_JSON_DUPLICATE_KEY",
        None,
    ]
    with db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pref.notification_inbox").fetchone()
    assert row == (5,)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    junk=st.lists(
        st.binary(min_size=1, max_size=30)
        | st.integers(1, 400).map(lambda d: b"[" * d + b"]" * d)
        | st.text(max_size=4).map(lambda t: json.dumps({"file": "pref", "x": t + "\0"}).encode())
        | st.builds(
            lambda v: json.dumps(v).encode(),
            st.recursive(
                st.none() | st.integers() | st.text(max_size=5),
                lambda inner: (
                    st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                ),
                max_leaves=8,
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_hardening_1_S38_fuzz_apply_gives_one_result_and_one_inbox_row_per_line(
    db: Database, tmp_path: Path, junk: list[bytes]
) -> None:
    """Property (the path of `juki apply`): arbitrary lines around a valid one never fail the run."""
    from juki.interfaces.cli_data import apply_file

    lines = [line.replace(b"\n", b" ") for line in junk if line.replace(b"\n", b" ").strip()]
    good = orjson.dumps(birth(next(_apply_fuzz_n)))
    lines.append(good)
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with db.connect() as conn:
        before = conn.execute(
            "SELECT (SELECT count(*) FROM pref.notification_inbox) + (SELECT count(*) FROM fuhyo.notification_inbox)"
        ).fetchone()
    seen: list[Any] = []
    summary, _ = apply_file(db, path, only=None, batch=3, on_result=seen.append)
    assert len(seen) == len(lines) == summary.accepted + summary.duplicate + summary.rejected
    assert {r.line_no: r.status for r in seen}[len(lines)] == "accepted"  # the valid line is applied
    with db.connect() as conn:
        after = conn.execute(
            "SELECT (SELECT count(*) FROM pref.notification_inbox) + (SELECT count(*) FROM fuhyo.notification_inbox)"
        ).fetchone()
    assert before is not None and after is not None and after[0] == before[0] + len(lines)


_apply_fuzz_n = iter(range(150, 100_000))


def test_synth_and_load_for_another_prefecture(
    juki: Run, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: `juki synth --prefecture 22` makes a 静岡県 population; a server configured with
    JUKI_PREFECTURE=22 loads it whole, and the default (14) server refuses every row of it
    (E_LG_CODE_NOT_IN_PREF in the rejects file, nothing else lost). A prefecture the table does not
    know is a usage error with a clear message."""
    out = tmp_path / "shizuoka"
    synth = juki("synth", "--persons", 200, "--seed", 4, "--prefecture", 22, "--out", out, "--json")
    assert synth.exit_code == 0, explain(synth)
    with open(out / "pref_current.csv", encoding="utf-8") as handle:
        codes = {row["municipality_code"] for row in csv.DictReader(handle)}
    assert codes and all(code.startswith("22") for code in codes)
    refused = juki("load", out, "--json")
    assert "E_LG_CODE_NOT_IN_PREF" in (tmp_path / "data" / "rejects" / "pref.rejects.csv").read_text("utf-8")
    assert one(db, "SELECT count(*) FROM pref.identity_current") == 0, explain(refused)
    monkeypatch.setenv("JUKI_PREFECTURE", "22")
    load = juki("load", out, "--json")
    assert load.exit_code == 0, explain(load)
    assert one(db, "SELECT count(*) FROM pref.identity_current") == 200
    bad = juki("synth", "--persons", 10, "--prefecture", 99, "--out", tmp_path / "bad")
    assert bad.exit_code == 2 and "都道府県コード 99" in bad.stderr + bad.stdout
