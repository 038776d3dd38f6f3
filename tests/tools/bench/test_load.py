"""`juki bench load` on a few hundred persons: the JSON keys the README quotes, and the floor
(`--floor`, issue 14 item 4) — PostgreSQL's own time to hold the same rows, measured in the same run."""

from __future__ import annotations

from pathlib import Path

from juki.store.db import Database
from juki.tools.bench.registry import bench_load


def _counts(db: Database) -> tuple[int, ...]:
    with db.connect() as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM pref.identity_current), (SELECT count(*) FROM pref.identity_history),
                      (SELECT count(*) FROM fuhyo.fuhyo_current), (SELECT count(*) FROM fuhyo.fuhyo_history),
                      (SELECT count(*) FROM pref.identity_current WHERE address_key IS NULL OR seion_kana = '')"""
        ).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def test_bench_load_reports_the_floor_and_leaves_the_same_rows_loaded(db: Database, tmp_path: Path) -> None:
    result = bench_load(db, tmp_path / "bench", 500, seed=1)
    assert result["floor"] is None  # only on request: it needs disk for one more copy of the rows
    loaded = _counts(db)
    assert loaded[0] == 500 and loaded[2] > 0 and loaded[4] == 0

    result = bench_load(db, tmp_path / "bench", 500, seed=1, floor=True)
    floor = result["floor"]
    assert floor is not None and set(floor["files"]) == {"pref", "fuhyo"}
    for figures in floor["files"].values():
        assert figures["copy_seconds"] > 0 and figures["index_and_analyze_seconds"] > 0
    assert floor["seconds"] > 0
    # The ratios are of the unrounded seconds; the JSON's seconds are rounded to 10 ms.
    assert abs(floor["ratio_baseline_to_floor"] - result["baseline_seconds"] / floor["seconds"]) < 0.05
    assert abs(floor["ratio_floor_to_ours"] - floor["seconds"] / result["seconds"]) < 0.05
    # The floor puts the loader's own rows back: the database holds exactly what the load stored,
    # with its indexes (a search by key still finds a person), and the exported copies are gone.
    assert _counts(db) == loaded
    with db.connect() as conn:
        plan = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'pref' AND tablename = 'identity_current'"
        ).fetchall()
    assert {"identity_current_pkey", "identity_address_key"} <= {r[0] for r in plan}
    assert not (tmp_path / "bench" / "load-floor").exists()
