"""A scratch cluster of Debian's PostgreSQL 15 and the guide-walking shell, shared by the tests that
run docs/deployment.md (test_deployment_guide.py: the installation; test_pitr_guide.py: pgBackRest).

The guide's blocks are tagged ```sh <kind>``` and run in order, in one bash, as an administrator
pastes them. `sudo -u USER cmd…` in the guide runs as the cluster's owner (root: runuser to it;
a normal user who owns the scratch cluster: directly, as the database role of that name); anything
else the guide might sudo is refused.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
_BLOCK = re.compile(r"^```sh ([a-z-]+)\n(.*?)^```$", re.S | re.M)

SUDO_SHIM = """
sudo() {
  [ "$1" = "-u" ] || { echo "guide test: unexpected sudo $*" >&2; return 2; }
  local user=$2; shift 2
  if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then runuser -u "$user" -- "$@"; else PGUSER="$user" "$@"; fi
}
"""


def blocks(kind: str) -> list[str]:
    """The guide's ```sh KIND``` blocks, in order."""
    return [body for tag, body in _BLOCK.findall(GUIDE.read_text(encoding="utf-8")) if tag == kind]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_bash(
    script: str, env: dict[str, str], cwd: Path, *, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + SUDO_SHIM + script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cluster_owner() -> list[str]:
    """The command prefix that runs as the cluster's owner (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")
        return ["runuser", "-u", "postgres", "--"]
    return []


@pytest.fixture
def debian_cluster() -> Iterator[dict[str, str]]:
    """A scratch cluster of Debian's PostgreSQL 15 on a loopback port: the PG* variables to reach
    it, plus PG_DATA / PG_OPTIONS / PG_LOG (what a `pg_ctlcluster` stand-in needs to restart it)."""
    assert (PG_BIN / "initdb").exists(), "postgresql-15 is missing: `make test` installs it (make postgres)"
    # Outside pytest's 0700 tmp tree: the postgres account must reach its data directory and socket.
    base = Path(tempfile.mkdtemp(prefix="juki-guide-pg-"))
    os.chmod(base, 0o755)
    owner = cluster_owner()
    if owner:
        shutil.chown(base, "postgres")
    port = free_port()
    data = base / "data"
    subprocess.run(
        [*owner, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    log = base / "log"
    subprocess.run(
        [*owner, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield {
            "PGHOST": str(base),
            "PGPORT": str(port),
            "PG_DATA": str(data),
            "PG_OPTIONS": options,
            "PG_LOG": str(log),
        }
    finally:
        subprocess.run(
            [*owner, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)
