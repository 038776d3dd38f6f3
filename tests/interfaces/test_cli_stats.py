"""`juki stats` (F1-8, REC-10): JSON for scripts, files for Excel, every output in the operation log."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from juki.store.db import Database
from tests.interfaces.terminal_web_support import log_rows
from tests.interfaces.test_cli import Run, birth, explain, json_doc, juki, write_jsonl

__all__ = ["juki"]  # the fixture, shared with test_cli


def test_F1_8_REC_10_stats_json_counts_the_population_and_the_updates(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    """F1-8 / REC-10: `juki stats --json` gives every table; the births applied are the population
    of their ward on a date after their 異動年月日, and nobody before it; each run is logged."""
    applied = juki("apply", write_jsonl(tmp_path / "n.jsonl", birth(1), birth(2), birth(3)), "--json")
    assert applied.exit_code == 0, explain(applied)
    after = juki("stats", "--file", "pref", "--as-of", "2026-09-30", "--json")
    assert after.exit_code == 0, explain(after)
    doc = json_doc(after)
    tables = {t["key"]: t for t in doc["tables"]}
    total = tables["population_by_municipality"]["rows"][-1]
    assert total[0] == "140007" and total[-1] == 3
    ward = next(r for r in tables["population_by_municipality"]["rows"] if r[0] == "141011")
    assert ward[-1] == 3
    assert (
        tables["population_by_age"]["rows"][0][:1] == ["0〜4歳"]
        and tables["population_by_age"]["rows"][0][-1] == 3
    )
    before = json_doc(juki("stats", "--file", "pref", "--as-of", "2026-08-31", "--json"))
    assert next(t for t in before["tables"] if t["key"] == "population_by_municipality")["rows"][-1][-1] == 0
    rows = log_rows(db, "function = 'statistics'")
    assert [(r["outcome"], r["target"], r["detail"]["output"]) for r in rows] == [
        ("allow", "as_of:2026-09-30", "json"),
        ("allow", "as_of:2026-08-31", "json"),
    ]


def test_F1_8_stats_writes_xlsx_and_refuses_a_bad_date(juki: Run, tmp_path: Path) -> None:
    """F1-8: `--out` writes the report (XLSX here); a bad date exits 2 with T_STATS_DATE."""
    out = tmp_path / "stats.xlsx"
    done = juki("stats", "--file", "fuhyo", "--as-of", "2026-09-30", "--out", out, "--format", "xlsx")
    assert done.exit_code == 0, explain(done)
    assert load_workbook(out).sheetnames[0] == "表紙"
    bad = juki("stats", "--as-of", "2026-02-30", "--json")
    assert bad.exit_code == 2 and json_doc(bad)["error"] == "T_STATS_DATE"
