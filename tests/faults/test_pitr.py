"""Point-in-time recovery on a real server (REQUIREMENTS S-46, S-14; issue 13 item 3).

docs/deployment.md's ```sh pitr-step``` blocks run in order, in one bash, against a scratch cluster
of Debian's PostgreSQL 15 (`make test` installs `postgresql-15` and `pgbackrest` when missing):
WAL archiving into an encrypted pgBackRest repository, a full backup, rows written before and after
a target time, and a restore *as of that time* into a scratch directory. Only `pg_ctlcluster` is
stood in for (the scratch cluster is not registered with Debian's postgresql-common); every other
command is the guide's. The test then checks what the guide cannot show by itself: the repository
is unreadable without the generated passphrase, and how long the last write waited to be archived
(RPO) and the restore took (RTO) — printed for docs/architecture-notes.md note 87.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.tools.debian_postgres import blocks, cluster_owner, debian_cluster, free_port, run_bash

__all__ = ["debian_cluster"]  # the fixture (tests/tools/debian_postgres.py), imported for pytest to find

PGBACKREST = Path("/usr/bin/pgbackrest")
_MARK = "@@pitr-block"

# The scratch cluster's stand-in for Debian's `pg_ctlcluster VERSION CLUSTER ACTION`.
_PG_CTLCLUSTER = """#!/bin/sh
exec /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_DATA" -o "$PG_OPTIONS" -l "$PG_LOG" -w "$3"
"""


def _psql(env: dict[str, str], database: str, query: str) -> str:
    return subprocess.run(
        [*cluster_owner(), "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", query],
        env={**env, "PGUSER": "postgres"}, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.mark.timeout(180)
def test_point_in_time_recovery_with_an_encrypted_pgbackrest_repository(
    debian_cluster: dict[str, str],
) -> None:
    """S-46 / S-14: the guide's pgBackRest set-up archives WAL into an AES-256 repository and its
    drill restores the cluster as of a time between two writes: the earlier row is there, the later
    one is not (and it was written: it is on the running server)."""
    assert PGBACKREST.exists(), "pgbackrest is missing: `make test` installs it (make postgres)"
    steps = blocks("pitr-step")
    assert len(steps) >= 5, "the guide lost its PITR steps"
    base = Path(debian_cluster["PGHOST"])  # owned by the cluster's account, 0755
    shim = base / "shim"
    shim.mkdir()
    (shim / "pg_ctlcluster").write_text(_PG_CTLCLUSTER, encoding="utf-8")
    os.chmod(shim / "pg_ctlcluster", 0o755)
    for path in (base / "shim", base / "shim" / "pg_ctlcluster"):
        if cluster_owner():
            shutil.chown(path, "postgres")
    env = {
        "PATH": f"{shim}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(base),
        "LANG": "C.UTF-8",
        **debian_cluster,
        "PGBR_CONF": str(base / "pgbackrest.conf"),
        "PGBR_REPO": str(base / "repo"),
        "PGBR_LOG": str(base / "pgbr-log"),
        "PGBR_LOCK": str(base / "pgbr-lock"),
        "DRILL_DIR": str(base / "drill"),
        "DRILL_PORT": str(free_port()),
    }
    script = "\n".join(f'echo "{_MARK} {i} $(date +%s.%N)"\n{body}' for i, body in enumerate(steps))
    done = run_bash(script + f'\necho "{_MARK} {len(steps)} $(date +%s.%N)"\n', env, base, timeout=150)
    assert done.returncode == 0, f"a pitr-step failed:\n{done.stdout}\n{done.stderr}"
    # The later row was written (the running server has it): its absence in the restore is the target's doing.
    assert re.search(r"^server rows: before,after$", done.stdout, re.M), done.stdout
    assert re.search(r"^drill rows: before$", done.stdout, re.M), done.stdout
    marks = [float(m) for m in re.findall(rf"^{_MARK} \d+ ([\d.]+)$", done.stdout, re.M)]
    seconds = [round(b - a, 2) for a, b in itertools.pairwise(marks)]

    # S-46: every file of the repository is OpenSSL aes-256-cbc output ("Salted__"), and pgBackRest
    # itself cannot read the repository without the passphrase the guide generated.
    repo_files = [p for p in (base / "repo").rglob("*") if p.is_file()]
    assert len(repo_files) > 10
    assert all(p.read_bytes()[:8] == b"Salted__" for p in repo_files), "a repository file is not encrypted"
    conf = Path(env["PGBR_CONF"]).read_text(encoding="utf-8")
    assert re.search(r"^repo1-cipher-pass=\S{40,}$", conf, re.M)
    no_pass = base / "no-pass.conf"
    no_pass.write_text(re.sub(r"^repo1-cipher-pass=.*\n", "", conf, flags=re.M), encoding="utf-8")
    if cluster_owner():
        shutil.chown(no_pass, "postgres")
    blind = subprocess.run(
        [*cluster_owner(), str(PGBACKREST), f"--config={no_pass}", "--stanza=juki", "info", "--output=json"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert blind.returncode != 0, blind.stdout
    assert (
        "cipher" in (blind.stdout + blind.stderr).lower()
        or "decrypt" in (blind.stdout + blind.stderr).lower()
    ), blind

    # RTO: the drill's restore block — restore as of the target, start, replay, answer a query.
    restore = next(i for i, body in enumerate(steps) if "--type=time" in body and " restore" in body)
    rto = seconds[restore]

    # RPO: a write on a quiet server waits for archive_timeout (60 s in the guide) before its WAL
    # file is archived; a total loss of the server in that window loses it. Measured once.
    _psql(env, "postgres", "CREATE TABLE rpo_probe (label text)")
    committed = time.time()
    _psql(env, "postgres", "INSERT INTO rpo_probe VALUES ('last write')")
    while True:
        archived = _psql(
            env,
            "postgres",
            "SELECT coalesce(extract(epoch FROM last_archived_time), 0) FROM pg_stat_archiver",
        )
        if float(archived) > committed:
            break
        assert time.time() - committed < 90, "the last write was not archived within archive_timeout"
        time.sleep(0.5)
    rpo = time.time() - committed
    print(f"PITR figures (seconds): blocks {seconds}; restore to answering (RTO) {rto}; RPO window {rpo:.1f}")
