"""`juki bench search` on a few hundred persons: it loads them, runs the query mix through the real
service (one log row per search) and reports the JSON keys the README quotes (F1-6, S-16)."""

from __future__ import annotations

from pathlib import Path

from juki.domain.records import FileKind
from juki.store.db import Database
from juki.tools.bench.search import MIX, bench_search


def test_bench_search_reports_latencies_against_the_bare_lookup(db: Database, tmp_path: Path) -> None:
    result = bench_search(db, tmp_path / "bench", 300, seed=1, queries=60, cap=100)
    assert result["benchmark"] == "search" and result["file"] == "pref"
    assert result["persons"] >= 300 and result["queries"] == 60
    for key in (
        "seconds",
        "rate_per_s",
        "baseline_rate_per_s",
        "ratio",
        "p50_ms",
        "p99_ms",
        "baseline_p50_ms",
        "baseline_p99_ms",
        "p99_ratio",
        "by_kind_ms",
        "machine",
        "target",
    ):
        assert key in result, key
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert set(result["mix"]) <= set(MIX) and sum(result["mix"].values()) == 60
    assert sum(result["outcomes"].values()) == 60
    assert result["outcomes"].get("found", 0) > 30 and "T_SEARCH_CONDITIONS" not in result["outcomes"]
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit.op_log WHERE function = 'search' AND actor_kind = 'system:bench' AND claimed_login = 'bench'"
        ).fetchone()
    assert row is not None and row[0] == 60  # every search of ours left its one row, the baseline none


def test_bench_search_on_file_2(db: Database, tmp_path: Path) -> None:
    result = bench_search(db, tmp_path / "bench", 300, seed=2, queries=30, file=FileKind.FUHYO)
    assert result["file"] == "fuhyo" and result["queries"] == 30
    assert result["outcomes"].get("found", 0) > 10
