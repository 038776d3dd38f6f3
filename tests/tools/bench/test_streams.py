"""Issue 15: the update benchmark measures new work on every run — its stream is drawn from the
persons stored now, with a fresh stream number — and a stream that is not new work is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from juki.store.db import Database
from juki.tools.bench.registry import apply_stream, bench_reconcile_loaded, bench_update
from juki.tools.bench.streams import BenchmarkInvalid, fitting_stream, require_work


def test_second_update_run_in_the_same_database_is_new_work(db: Database, tmp_path: Path) -> None:
    first = bench_update(db, tmp_path / "bench", 2_000, 1, 600, batch=200)
    second = bench_update(db, tmp_path / "bench", 2_000, 1, 600, batch=200)
    other_seed = bench_update(db, tmp_path / "bench", 2_000, 7, 600, batch=200)
    for run in (first, second, other_seed):
        assert run["accepted"] >= 0.95 * run["intended"]["accepted"], run["outcomes"]
        assert run["duplicate"] == 0
        assert sum(run["outcomes"].values()) == run["notifications"] == 600
        assert run["rate_per_s"] == pytest.approx(run["accepted"] / run["seconds"], rel=0.05)
    assert len({first["stream"], second["stream"], other_seed["stream"]}) == 3


def test_update_with_invalid_items_counts_only_the_accepted(db: Database, tmp_path: Path) -> None:
    run = bench_update(db, tmp_path / "bench", 2_000, 1, 600, batch=200, invalid_share=0.05)
    assert run["intended"]["accepted"] < 600
    assert run["accepted"] >= 0.95 * run["intended"]["accepted"]
    assert run["accepted"] < 600 and run["duplicate"] + run["rejected"] > 0
    assert run["rate_per_s"] == pytest.approx(run["accepted"] / run["seconds"], rel=0.05)


def test_a_stream_of_duplicates_is_refused_not_reported(db: Database, tmp_path: Path) -> None:
    bench_update(db, tmp_path / "bench", 2_000, 1, 200, batch=100)
    drawn = fitting_stream(db, 1, 300)
    once = apply_stream(db, drawn.lines, 100)
    require_work("update", once.outcomes, drawn.intended_accepted, 300)  # new work: fine
    replay = apply_stream(db, drawn.lines, 100)  # the same notifications again: all duplicates
    assert replay.outcomes["duplicate"] == 300
    with pytest.raises(BenchmarkInvalid, match=r"only 0 of 300 notifications were accepted.*duplicate"):
        require_work("update", replay.outcomes, drawn.intended_accepted, 300)


def test_require_work_threshold() -> None:
    require_work("update", {"accepted": 95, "E_X": 5}, 100, 100)
    with pytest.raises(BenchmarkInvalid, match="no figure is reported"):
        require_work("update", {"accepted": 94, "rejected": 6}, 100, 100)
    with pytest.raises(BenchmarkInvalid):
        require_work("update", {"duplicate": 10}, 0, 10)


def test_reconcile_on_the_loaded_database_finds_every_planted_difference(
    db: Database, tmp_path: Path
) -> None:
    bench_update(db, tmp_path / "bench", 3_000, 1, 200, batch=100)
    result = bench_reconcile_loaded(db, tmp_path / "bench")
    assert result["correct"] and result["persons"] > 100
    assert result["counts"]["missing_on_server"] == result["expected"]["missing_on_server"] >= 1
