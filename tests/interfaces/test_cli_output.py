"""CLI output for administrators (issue 10 item 13): listings redirected to a file are TSV (nothing
cut to a terminal's width), `--format csv|json|table` on every listing, timestamps in Japan time
without microseconds (as the terminal UI shows them), and never a Python dict repr."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from juki.entry import app
from juki.interfaces.cli_output import OutputFormat, cell, jsonable, resolve_format, timestamp
from juki.store.db import Database

Run = Callable[..., Result]
#: `YYYY-MM-DD HH:MM:SS`, as the web shows it: no microseconds, no offset.
SHOWN_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
#: What a Python repr of a dict, a datetime or a dataclass would leave in the output.
REPR = re.compile(r"\{'|': |datetime\.|[A-Za-z]+\(|\+00:00|\.\d{6}")
LONG_NAME = "業務端末-" + "長い名前" * 14  # 61 characters, 120 columns: wider than the terminal


@pytest.fixture
def juki(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: object) -> Result:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result

    yield run


def test_time_is_japan_time_without_microseconds() -> None:
    moment = datetime(2026, 12, 4, 23, 59, 58, 123456, tzinfo=UTC)
    assert timestamp(moment) == "2026-12-05 08:59:58"
    assert cell(moment) == "2026-12-05 08:59:58"
    assert jsonable({"at": moment}) == {"at": "2026-12-05T08:59:58+09:00"}
    assert cell({"accepted": 3, "E_X": 1}) == "accepted=3 E_X=1"  # not "{'accepted': 3, …}"
    assert cell(["a", "b"]) == "a, b" and cell(None) == "" and cell(True) == "はい"


def test_default_format_is_a_table_on_a_terminal_and_tsv_when_redirected() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format(None, stream=Tty()) is OutputFormat.TABLE
    assert resolve_format(None, stream=io.StringIO()) is OutputFormat.TSV
    assert resolve_format(OutputFormat.CSV, stream=Tty()) is OutputFormat.CSV
    assert resolve_format(OutputFormat.TABLE, True) is OutputFormat.JSON  # --json wins


def test_listings_redirected_are_tsv_whole_with_japan_time(juki: Run, db: Database) -> None:
    """`juki terminal list > file`: a header and one line per terminal, the long name whole, the
    registration time as the web shows it (JST, seconds); the same row as CSV and JSON."""
    juki("admin", "bootstrap", "admin1")
    juki("terminal", "add", LONG_NAME, "--kind", "business", "--bulk")
    with db.connect() as conn:
        row = conn.execute(
            "SELECT registered_at FROM term.terminals WHERE name = %s", (LONG_NAME,)
        ).fetchone()
    assert row is not None
    registered = row[0]

    tsv = [line.split("\t") for line in juki("terminal", "list").stdout.splitlines()]
    header, lines = tsv[0], tsv[1:]
    assert header == ["端末名", "種別", "一括出力", "登録済みブラウザ", "登録日時", "廃止"]
    mine = next(line for line in lines if line[0] == LONG_NAME)  # not cut: the whole name
    assert mine[4] == timestamp(registered) and SHOWN_TIME.match(mine[4])
    assert all(len(line) == len(header) for line in lines)

    rows = list(csv.reader(io.StringIO(juki("terminal", "list", "--format", "csv").stdout)))
    assert rows[0] == header and [LONG_NAME, "業務端末", "可", "", timestamp(registered), ""] in rows

    listed = json.loads(juki("terminal", "list", "--format", "json").stdout)
    entry = next(t for t in listed if t["name"] == LONG_NAME)
    assert entry["registered_at"] == jsonable(registered) and entry["registered_at"].endswith("+09:00")
    assert "." not in entry["registered_at"]  # no microseconds


@pytest.mark.parametrize(
    "command",
    [
        ("operator", "list"),
        ("terminal", "list", "--all"),
        ("rights", "roles"),
        ("rights", "applications", "--all"),
        ("rights", "inventory"),
        ("db", "status"),
        ("purge",),
        ("relay", "status"),
        ("reconcile", "list"),
        ("pki", "list"),
    ],
)
def test_every_listing_redirected_is_tsv_without_reprs(juki: Run, command: tuple[str, ...]) -> None:
    """Each listing, redirected, is tab-separated lines of equal width with Japanese headings, and
    holds no Python repr (dicts, datetimes, microseconds, UTC offsets)."""
    juki("admin", "bootstrap", "admin1")
    juki("pki", "init")
    juki("pki", "issue", "pref_server", "pref-server")
    out = juki(*command).stdout
    lines = [line.split("\t") for line in out.splitlines()]
    assert lines, command
    assert all(len(line) == len(lines[0]) for line in lines), out
    assert re.search(r"[぀-ヿ一-鿿]", "".join(lines[0])), lines[0]  # headings an administrator reads
    assert not REPR.search(out), out
    for line in lines[1:]:
        for value in line:
            if re.match(r"^\d{4}-\d\d-\d\d[ T]\d", value):
                assert SHOWN_TIME.match(value), (command, value)
    as_json = json.loads(juki(*command, "--format", "json").stdout)
    assert as_json is not None


def test_rights_roles_table_fits_80_columns(juki: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an 80-column terminal the roles listing shows every permission whole: none cut off with an
    ellipsis, none broken across lines."""
    monkeypatch.setenv("COLUMNS", "80")
    table = juki("rights", "roles", "--format", "table").stdout
    assert all(cell_len(line) <= 80 for line in table.splitlines())  # columns, not characters
    assert "…" not in table
    roles = json.loads(juki("rights", "roles", "--json").stdout)["roles"]
    for role in roles:
        for allowed in role["allow"]:
            assert re.search(rf"(^|\s){re.escape(allowed)}(\s|$)", table, re.M), allowed


def test_a_table_too_wide_for_the_terminal_is_shown_one_record_at_a_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 80 columns a nine-column listing would break every cell into pieces of a few characters;
    it is shown as `label  value` records instead (psql's expanded display). A wide terminal gets the
    table."""
    from juki.interfaces.cli_output import Column, emit_rows

    columns = [Column(f"c{i}", f"見出し{i}") for i in range(9)]
    rows = [
        {f"c{i}": f"値-{i}-" + "x" * 12 for i in range(9)} | {"c4": datetime(2026, 12, 4, 15, 0, tzinfo=UTC)}
    ]
    monkeypatch.setenv("COLUMNS", "80")
    emit_rows("一覧", columns, rows, OutputFormat.TABLE)
    narrow = capsys.readouterr().out
    assert "┃" not in narrow and all(cell_len(line) <= 80 for line in narrow.splitlines())
    for i in range(9):
        value = "2026-12-05 00:00:00" if i == 4 else f"値-{i}-" + "x" * 12
        assert re.search(rf"^見出し{i}\s+{value}\s*$", narrow, re.M), (i, narrow)
    monkeypatch.setenv("COLUMNS", "250")
    emit_rows("一覧", columns, rows, OutputFormat.TABLE)
    assert "┃ 見出し0" in capsys.readouterr().out


def test_one_time_links_from_the_console_stand_alone_on_their_line(juki: Run) -> None:
    """`juki terminal add` / `operator enrol-link` print the link alone on its line (a click or a copy
    in an 80-column terminal gets all of it), the label on the line above."""
    juki("admin", "bootstrap", "admin1")
    added = juki("terminal", "add", "業務端末-1", "--kind", "business").stderr.splitlines()
    link = next(line for line in added if "/terminal/bind/" in line)
    assert re.fullmatch(r"https://localhost:8444/terminal/bind/[\w-]+", link), added
    assert added[added.index(link) - 1].startswith("端末登録リンク")
    enrol = juki("operator", "enrol-link", "admin1").stderr.splitlines()
    assert any(re.fullmatch(r"https://localhost:8444/enrol/[\w-]+", line) for line in enrol), enrol


def test_japanese_help_is_never_cut_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer's rich help panels end Japanese help (no spaces to wrap at) with "…" at 80 columns;
    juki's help keeps every word of every command's and option's help."""
    monkeypatch.setenv("COLUMNS", "80")
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "…" not in top.output
    assert (
        "市町村CSからの異動通知を相互TLSで受け付けるサーバを起動する（証明書は `juki pki` で発行）"
        in top.output
    )
    demo = runner.invoke(app, ["demo", "--help"])
    assert "…" not in demo.output
    flat = re.sub(r"\s+", "", demo.output)
    assert "業務画面の待ち受けアドレス（他の機械から使うなら0.0.0.0。README「他の機械から」参照）" in flat
