"""The restore drill in CI: backup → delete the data directory → restore → verify (S-46, S-19, R-09).

RPO and RTO are measured at a small population here (figures printed; `juki bench restore
--persons N` measures them at scale). On a shared 2-core machine the seconds are indicative only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from juki.tools.bench.restore import restore_drill


def test_S46_S19_R09_fault_drill_data_directory_deleted_then_restored_and_verified(tmp_path: Path) -> None:
    figures = restore_drill(tmp_path / "drill", persons=300, lost_changes=20)
    print(json.dumps(figures, ensure_ascii=False))
    assert figures["ok"], figures
    report = figures["restore"]
    assert report["mismatches"] == [] and report["audit_ok"] and report["audit_rows"] > 0
    # What was committed before the backup is back; what came after it is the RPO's loss.
    assert figures["served_persons"] >= 300
    assert figures["lost_after_backup"] > 0
    assert figures["rpo_seconds"] > 0 and figures["rto_seconds"] > 0
    # `juki bench all` renders the drill's own JSON (issue 13 item 2), extrapolated to the suite's size.
    from juki.tools.bench.report import render_markdown
    from juki.tools.bench.restore import extrapolate

    figures["extrapolated"] = extrapolate(figures, 3_000)
    md = render_markdown(_one(figures))
    assert "extrapolated to 3,000: RTO" in md and "restored and verified ✔" in md, md


def _one(result: dict[str, Any]) -> dict[str, Any]:
    from juki.tools.bench.report import Step, run_suite

    db: Any = None  # the step only hands back the drill's figures
    return run_suite(db, Path("unused"), 300, steps=(Step("restore", lambda *_: dict(result)),))
