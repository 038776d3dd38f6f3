"""`juki bench disclosure` on a small population: it measures the signed PDFs (F1-3, S-55) and the
bare reads, lists the provisions (refusals left out) and says whether the target is met."""

from __future__ import annotations

from pathlib import Path

from juki.store.db import Database
from juki.tools.bench.disclosure import bench_disclosure
from juki.tools.bench.report import Step, render_markdown, run_suite


def test_bench_disclosure_reports_pdf_latencies_against_the_bare_reads(db: Database, tmp_path: Path) -> None:
    result = bench_disclosure(db, tmp_path / "bench", persons=300, iterations=2, provisions=50)
    assert result["benchmark"] == "disclosure" and result["persons"] >= 300
    assert result["provisions_listed"] == 45  # one in ten is a refusal, which is not provision
    for part in ("disclosure_pdf", "provision_status_pdf", "baseline_reads"):
        assert 0 < result[part]["p50_ms"] <= result[part]["p99_ms"]
    assert result["provision_status_pdf"]["p99_ms"] > result["baseline_reads"]["p99_ms"]
    assert isinstance(result["meets_target"], bool)
    # `juki bench all` renders this JSON as it is (issue 13 item 2).
    md = render_markdown(run_suite(db, tmp_path, 300, steps=(Step("disclosure", lambda *_: dict(result)),)))
    assert f"**p99 {result['provision_status_pdf']['p99_ms']} ms**" in md and "p99 ≤ 500 ms" in md, md
