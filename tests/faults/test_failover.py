"""S-49 (emergency plan for server failure), issue 14 item 3: the primary database server lost in the
middle of the intake, with pg_auto_failover (Debian's `pg_autoctl`) promoting the synchronous standby.

One drill (:mod:`juki.tools.bench.failover`) on loopback: a monitor and two nodes, juki migrated and
loaded onto the formation, the intake server (mutual TLS, `juki serve`'s app) and both relays on the
multi-host URL (`target_session_attrs=read-write`), the municipal CS simulator streaming the fault
tests' synthetic stream — and `kill -9` of the primary's postmaster and keeper after a few batches.
Afterwards, on the new primary:

* every notification the 市町村CS holds an acknowledgement for is there exactly once, with the
  更新順番号 it was answered with, its version row and one outbox row (RPO 0);
* both files equal a fault-free in-process run of the same stream (tests/faults/test_faults.py);
* the relays resumed by themselves: every notice sent, the national simulators' copies equal the
  files, none applied twice;
* the terminal's search and record view work, and `juki audit verify` verifies the operation log
  (signed before the failover, written to after it);
* no 500 and no stack trace from the intake: the in-flight batches were answered E_DB_UNAVAILABLE.

`make test` installs postgresql-15-auto-failover and pg-auto-failover-cli when missing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.domain.records import FileKind
from juki.services.search.conditions import SearchConditions
from juki.services.search.service import search, view_record
from juki.store.db import DbRole
from juki.store.embedded import EmbeddedCluster
from juki.tools.bench.failover import FailoverDrill, failover_drill
from tests.faults.test_faults import (  # noqa: F401 - fixtures: the fault-free reference run
    CHANGES,
    CURRENT,
    PERSONS,
    SEED,
    Snapshot,
    check_national,
    loaded_template,
    population,
    reference,
    snapshot,
)
from tests.services.audit.support import actor

PG_AUTOCTL = shutil.which("pg_autoctl")


@pytest.fixture
def drill(cluster: EmbeddedCluster) -> Iterator[FailoverDrill]:
    assert PG_AUTOCTL, "pg_autoctl is missing: `make test` installs pg-auto-failover-cli"
    # Outside pytest's 0700 tree: the postgres account must reach the formation's directories.
    base = Path(tempfile.mkdtemp(prefix="ha-drill-"))
    os.chmod(base, 0o755)
    try:
        with failover_drill(
            base,
            cluster.conninfo("postgres"),
            persons=PERSONS,
            seed=SEED,
            changes=CHANGES,
            batch=10,
            kill_after_batches=8,
        ) as running:
            yield running
    finally:
        shutil.rmtree(base, ignore_errors=True)


def juki(drill: FailoverDrill, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUKI_DATABASE_URL": drill.url, "JUKI_DATA_DIR": str(drill.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "juki.entry", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.timeout(420)  # hard bound; a run takes 1.5-3 min on 2 busy cores
def test_S49_kill_9_of_the_primary_mid_stream_loses_no_acknowledged_notification(
    drill: FailoverDrill,
    reference: Snapshot,  # noqa: F811 - the fixture imported above
) -> None:
    signed = juki(drill, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr

    run = drill.run()

    # The failover happened, mid-stream, and the CS had to resend.
    assert (run.old_primary, run.new_primary) == ("node1", "node2"), run
    assert run.resent_batches >= 1, run
    assert run.rto_seconds is not None and run.promoted_seconds is not None, run
    assert run.mismatches == 0, drill.report.mismatches if drill.report else None
    assert run.sent == run.acknowledged, run  # every notification of the stream ended acknowledged
    # RPO 0: every acknowledged notification is on the new primary with its 更新順番号.
    acknowledged = drill.acknowledged()
    assert run.lost_acknowledged == 0 and acknowledged <= drill.committed()
    print(f"\nS-49 failover: {run.as_dict()}")

    db = drill.db
    with db.connect() as conn:
        for file in ("pref", "fuhyo"):
            # Exactly once: one accepted inbox row per notification, the acknowledged ones only.
            rows = conn.execute(
                f"""SELECT municipality_code, notification_id, update_seq FROM {file}.notification_inbox
                     WHERE status = 'accepted'"""
            ).fetchall()
            mine = {(m, n, s) for f, m, n, s in acknowledged if f == file}
            assert sorted(rows) == sorted(mine), f"{file}: accepted inbox rows ≠ acknowledged"
            seqs = {s for _, _, s in mine}
            # Exactly one outbox row per accepted change.
            outbox: dict[int, int] = dict(
                conn.execute(f"SELECT update_seq, count(*) FROM {file}.outbox GROUP BY 1").fetchall()
            )
            assert outbox == dict.fromkeys(seqs, 1), f"{file}: outbox rows ≠ accepted changes"
    # Every current and history row (each change's version) equals the fault-free run's.
    assert snapshot(db) == reference

    # The relays resumed on their own: the national copies equal the files, nothing applied twice.
    assert drill.relay_failures == []
    for file in (FileKind.PREF, FileKind.FUHYO):
        check_national(db, file.value, drill.national[file])

    # The terminal's search works again on the new primary, and its operation-log rows are written.
    operator = actor(db, "failover-check", "T-HA", roles=frozenset({"pref_operator"}))
    _, _, _, seq = max(a for a in acknowledged if a[0] == "pref")
    with db.connect() as conn:
        row = conn.execute(
            f"SELECT juminhyo_code, name_kana, birth_date FROM {CURRENT['pref']} WHERE update_seq = %s",
            (seq,),
        ).fetchone()
    if row is None:  # that change was superseded by a later one of the same person: take the latest
        with db.connect() as conn:
            row = conn.execute(
                f"SELECT juminhyo_code, name_kana, birth_date FROM {CURRENT['pref']} ORDER BY update_seq DESC"
            ).fetchone()
    assert row is not None
    code, kana, birth = row
    with db.connect(DbRole.PREF, autocommit=True) as pref:
        hits = search(pref, operator, SearchConditions(name=kana, birth_date=birth)).hits
        assert code in {h.juminhyo_code for h in hits}
        assert view_record(pref, operator, FileKind.PREF, code).juminhyo_code == code

    verified = juki(drill, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"ok": true' in verified.stdout.replace('"ok":true', '"ok": true'), verified.stdout

    # No 500 and no stack trace from the intake; the in-flight batches got the retryable code. (A 500
    # would also have stopped the simulator: it resends on 503 only.)
    records = drill.intake_log
    assert not [r for r in records if r.exc_info], "a stack trace was logged"
    assert not [
        r.getMessage() for r in records if r.levelno >= logging.ERROR and "shutdown" not in r.getMessage()
    ]
    assert any("E_DB_UNAVAILABLE" in r.getMessage() for r in records if r.name == "juki.intake")
