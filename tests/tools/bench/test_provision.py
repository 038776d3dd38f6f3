"""`juki bench provision` on a few hundred persons (F1-2b, SIM-4): the bulk run in its own process, every
result row checked against the simulator, the plain-SQL baseline of the same join, the single path."""

from __future__ import annotations

from pathlib import Path

from juki.store.db import Database
from juki.tools.bench.provision import bench_provision
from juki.tools.bench.report import Step, render_markdown, run_suite


def test_bench_provision_reports_the_bulk_run_against_the_plain_join(db: Database, tmp_path: Path) -> None:
    result = bench_provision(db, tmp_path / "bench", 300, 400, seed=1, singles=20)
    assert result["benchmark"] == "provision" and result["requests"] == 400
    assert result["result_checked_rows"] == 400 and result["result_counts"] == result["mix"]
    # No J-LIS in the benchmark: the rows that identify nobody here are 照会先応答なし, never 該当なし.
    assert result["mix"]["P_MATCH"] > 200 and result["mix"]["P_UNAVAILABLE"] > 0
    assert result["seconds"] > 0 and result["baseline_seconds"] > 0 and result["ratio"] > 0
    assert result["bulk_peak_rss_mib"] > 0 and result["single"]["samples"] == 20
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pref.provision_record WHERE bulk_job_id IS NOT NULL AND operator_login = 'bench'"
        ).fetchone()
    assert row == (400,)  # every request row of ours has its provision record; the baseline wrote none
    # `juki bench all` renders this JSON as it is (issue 13 item 2): bulk and single in one row.
    md = render_markdown(run_suite(db, tmp_path, 300, steps=(Step("provision", lambda *_: dict(result)),)))
    assert "| provision | 300 | bulk: **" in md and "; single: p99 " in md and "ratio ≥ 0.3 " in md, md
