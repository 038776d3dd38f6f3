"""Issue 15: `juki bench all` writes one report, and the docs' tables are generated from its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from juki.store.db import Database
from juki.tools.bench.report import (
    BEGIN,
    END,
    Step,
    headline,
    render_markdown,
    run_suite,
    write_between_markers,
    write_report,
)
from juki.tools.bench.streams import BenchmarkInvalid

_UPDATE: dict[str, Any] = {
    "benchmark": "update",
    "persons": 200_000,
    "notifications": 20_000,
    "accepted": 19_990,
    "duplicate": 0,
    "rejected": 10,
    "batch_size": 500,
    "batch_p50_ms": 190.0,
    "batch_p99_ms": 231.9,
    "rate_per_s": 2_622.2,
    "baseline_rate_per_s": 44_526.2,
    "ratio": 0.059,
}


def _fake(result: dict[str, Any]) -> Step:
    return Step(str(result["benchmark"]), lambda db, work, persons, seed: dict(result))


def _refused(db: Database, work: Path, persons: int, seed: int) -> dict[str, Any]:
    raise BenchmarkInvalid("update: only 0 of 20,000 notifications were accepted")


def _report() -> dict[str, Any]:
    db: Any = None  # the fake steps never touch it
    steps = (_fake(_UPDATE), Step("update (replayed)", _refused))
    return run_suite(db, Path("unused"), 200_000, 1, steps=steps)


def test_suite_records_failures_without_a_figure() -> None:
    report = _report()
    assert report["ok"] is False and report["persons"] == 200_000 and report["machine"]["cpus"]
    assert [r["step"] for r in report["results"]] == ["update", "update (replayed)"]
    assert "rate_per_s" not in report["results"][1]
    assert "BenchmarkInvalid" in report["results"][1]["error"]


def test_markdown_is_generated_from_the_json(tmp_path: Path) -> None:
    report = _report()
    md = render_markdown(report)
    assert f"on {report['date']}" in md and f"{report['machine']['cpus']} cores" in md
    assert "| `juki bench update` | 200,000 | **2,622.2 notifications/s** accepted and committed" in md
    assert "bare INSERT of the same rows: 44,526/s | 0.059 | ≥ 2,000/s ✔ |" in md
    assert "**failed, no figure**: BenchmarkInvalid: update: only 0 of 20,000" in md
    json_path, md_path = write_report(report, tmp_path / "out")
    assert orjson.loads(json_path.read_bytes()) == report
    assert md in md_path.read_text(encoding="utf-8")


def test_docs_are_rewritten_between_the_markers_only(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(f"# prose before\n\n{BEGIN}\nold table\n{END}\n\nprose after\n", encoding="utf-8")
    write_between_markers(doc, "| new | table |\n")
    assert doc.read_text(encoding="utf-8") == (
        f"# prose before\n\n{BEGIN}\n| new | table |\n{END}\n\nprose after\n"
    )
    (tmp_path / "plain.md").write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bench:begin"):
        write_between_markers(tmp_path / "plain.md", "x")


def test_bench_all_runs_every_bench_command() -> None:
    """Issue 13 item 2: `juki bench all` includes every benchmark `juki bench` has, so none is
    forgotten in the report; a new command without a step (or a named reason here) fails this."""
    from juki.tools.bench.report import LEFT_OUT, SUITE
    from juki.tools.cli_bench import app

    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    # The suite reconciles the population it loaded instead of `juki bench reconcile`'s own 横浜市;
    # search and stats run once per file.
    steps = {s.name.split(" (")[0] for s in SUITE}
    assert commands - {"all"} - set(LEFT_OUT) == steps, (commands, steps)
    assert set(LEFT_OUT) <= commands and all(LEFT_OUT.values())


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (_UPDATE, "2622.2/s, ratio 0.059"),
        ({"benchmark": "stats", "seconds": 3.4}, "3.4 s"),
        (
            {"benchmark": "disclosure", "provision_status_pdf": {"p99_ms": 422.0}, "ratio_p99": 1.9},
            "provision-status PDF p99 422.0 ms, ratio 1.9",
        ),
        ({"benchmark": "restore", "rto_seconds": 690.0}, "RTO 690.0 s"),
        ({"benchmark": "new"}, "done"),
        ({"benchmark": "x", "error": "RuntimeError: [boom]"}, "failed: RuntimeError: [boom]"),
    ],
)
def test_every_step_shape_has_a_headline(result: dict[str, Any], line: str) -> None:
    """`juki bench all` prints a line per finished step; a step without a rate or seconds (the
    disclosure step) raised KeyError there and the whole 10M report was lost."""
    assert headline(result) == line
