"""`juki bench stats` on a few hundred persons: every table through the real service (one log row
per run of ours, none for the baseline), the JSON keys the README quotes (F1-8, REC-10)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from juki.store.db import Database
from juki.tools.bench.report import Step, render_markdown, run_suite
from juki.tools.bench.stats import bench_stats


def test_F1_8_bench_stats_times_the_full_set_against_a_plain_group_by(db: Database, tmp_path: Path) -> None:
    result = bench_stats(db, tmp_path / "bench", 400, seed=1, dates=(date(2026, 9, 30),), repeat=2)
    assert result["benchmark"] == "stats" and result["file"] == "pref" and result["persons"] >= 400
    (run,) = result["runs"]
    assert run["as_of"] == "2026-09-30" and 300 < run["population"] <= 400
    assert run["seconds"] > 0 and run["baseline_seconds"] > 0 and run["ratio"] > 0
    for key in ("seconds", "peak_rss_mib", "machine", "target", "rows_history"):
        assert key in result, key
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit.op_log WHERE function = 'statistics' AND actor_kind = 'system:bench'"
        ).fetchone()
    assert row is not None and row[0] == 3  # warm-up and two timed runs of ours; the baseline logs nothing
    # `juki bench all` renders this JSON as it is (issue 13 item 2).
    md = render_markdown(run_suite(db, tmp_path, 400, steps=(Step("stats", lambda *_: dict(result)),)))
    assert "| `juki bench stats --file pref` | " in md and "for the full set of tables" in md, md
    assert f"2026-09-30: {run['seconds']:,.2f} s" in md and "≤ 10 s at 10M ✔" in md, md
