"""The single-provision benchmark hook p-bulk's `juki bench provision` calls (F1-2, S-21)."""

from __future__ import annotations

from juki.store.db import Database
from juki.tools.bench.provision_single import single_provision_latency
from tests.services.provision.support import populate


def test_single_provision_latency_times_the_service_with_record_and_log(db: Database) -> None:
    populate(db)
    report = single_provision_latency(db, 5, 20)
    assert report["samples"] == 20 and report["task"] == "kyoiku:tokubetsu-shien"
    assert sum(report["outcomes"].values()) == 20 and report["p99_ms"] >= report["p50_ms"] > 0
    assert report["baseline_p99_ms"] > 0
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*), count(op_log_seq) FROM pref.provision_record WHERE operator_login = 'bench'"
        ).fetchone()
    assert row == (20, 20)  # every timed provision has its record and operation-log row (S-21)
