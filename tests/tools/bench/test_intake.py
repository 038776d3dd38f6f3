"""`juki bench intake` end to end on a small population: the JSON it reports is the one the README
quotes, every accepted notification reaches the national simulators, and the CPU split is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from juki.store.db import Database
from juki.tools.bench.intake import bench_intake


def test_bench_intake_processes_delivers_everything(db: Database, tmp_path: Path) -> None:
    result = bench_intake(db, tmp_path / "bench", 2_000, 1, 300, batch=100, processes=True)
    assert result["benchmark"] == "intake" and result["mode"] == "processes"
    assert result["notifications"] == 300
    assert sum(result["outcomes"].values()) == 300
    assert result["outcomes"].get("accepted", 0) > 250
    assert result["undelivered"] == 0
    assert result["rate_per_s"] > 0 and result["baseline_rate_per_s"] > 0
    # The ratio is computed from the unrounded rates; the reported rates are rounded to 0.1/s.
    assert result["ratio"] == pytest.approx(result["rate_per_s"] / result["baseline_rate_per_s"], abs=2e-3)
    assert {"intake", "relay-pref", "relay-fuhyo", "national", "fuhyo_national"} <= set(result["cpu_seconds"])
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pref.outbox WHERE status = 'sent'"
            " AND created_at >= now() - interval '10 minutes'"
        ).fetchone()
    assert row is not None and row[0] >= result["outcomes"]["accepted"]


def test_issue14_bench_intake_prefectures_runs_two_prefectures_apart_and_together(tmp_path: Path) -> None:
    """Issue 14 item 5: each prefecture its own cluster and population (its own municipalities), one
    alone and both at once through the gate; every figure comes from a child's own report."""
    from juki.tools.bench.intake_prefectures import bench_intake_prefectures

    result = bench_intake_prefectures(tmp_path, ("14", "22"), 1_000, 200, timeout=900)
    assert result["prefectures"] == ["14", "22"]
    assert all(n >= 1_000 for n in result["persons_per_prefecture"].values())
    assert result["alone"]["prefecture"] == "14" and result["alone"]["delivered"] > 150
    together = result["together"]
    assert set(together["per_prefecture"]) == {"14", "22"}
    for report in together["per_prefecture"].values():
        assert report["delivered"] > 150 and report["outcomes"].get("accepted", 0) > 150
    assert together["delivered"] == sum(r["delivered"] for r in together["per_prefecture"].values())
    # Each prefecture was loaded in its own cluster with its own prefecture's persons.
    for code in ("14", "22"):
        rejects = tmp_path / f"pref-{code}" / "bench" / "rejects" / "pref.rejects.csv"
        assert not rejects.exists() or rejects.read_text().count("\n") <= 1
        assert (tmp_path / f"pref-{code}" / "pg").exists()
    # The clusters the children left running are stopped again.
    import psutil

    running = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and any(str(tmp_path) in part for part in p.info["cmdline"])
    ]
    assert running == []
