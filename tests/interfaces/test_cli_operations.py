"""`juki jobs …` and `juki backup …` end to end, in-process against the test database (issue 13)."""

from __future__ import annotations

from pathlib import Path

from tests.interfaces.test_cli import Run, explain, json_doc, juki  # noqa: F401  (the fixture)


def test_S46_REC9_backup_keygen_run_verify_and_weekly_check(juki: Run, tmp_path: Path) -> None:  # noqa: F811
    """S-46 / REC-9 at the console: keys, a backup (recorded as a job run), the register, the
    restore drill into a scratch cluster, and the weekly check that then passes."""
    assert juki("backup", "keygen").exit_code == 0
    made = juki("backup", "run", "--json")
    assert made.exit_code == 0, explain(made)
    run = json_doc(made)
    assert run["job"] == "backup" and run["outcome"] == "succeeded"
    listed = juki("backup", "list", "--json")
    assert {b["kind"] for b in json_doc(listed)} == {"full", "oplog"}
    verified = juki("backup", "restore", "--verify", "--json")
    assert verified.exit_code == 0, explain(verified)
    assert json_doc(verified)["ok"] is True
    check = juki(
        "backup",
        "check",
        "--by",
        "kanri1",
        "--confirm",
        "register_matches_media",
        "--confirm",
        "stored_locked",
        "--confirm",
        "expired_destroyed",
    )
    assert check.exit_code == 0, explain(check)
    incomplete = juki("backup", "check", "--by", "kanri1")
    assert incomplete.exit_code == 1


def test_jobs_run_status_and_systemd(juki: Run, tmp_path: Path) -> None:  # noqa: F811
    unknown = juki("jobs", "run", "nope")
    assert unknown.exit_code == 1 and "E_JOB_UNKNOWN" in unknown.stderr
    ran = juki("jobs", "run", "my_number_purge", "--json")
    assert ran.exit_code == 0, explain(ran)
    status = juki("jobs", "status", "--json")
    assert status.exit_code == 1  # the other jobs never ran: missed, and the exit code says so
    states = {s["job"]: s for s in json_doc(status)}
    assert not states["my_number_purge"]["flagged"] and states["backup"]["missed"]
    units = juki("jobs", "systemd", "--output", tmp_path / "units", "--juki", "/usr/bin/juki")
    assert units.exit_code == 0, explain(units)
    assert (tmp_path / "units" / "juki-job-audit_checkpoint.timer").exists()
