"""Where pg_dump / pg_restore come from, and how they are started.

The same binaries as the cluster's (the system's, else the pgserver wheel's: store/embedded.py), so
a dump is always read by a pg_restore of the same major version. PG* variables of the caller's
environment are dropped: the connection is named in full on the command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from juki.store.db import Database
from juki.store.embedded import find_binaries


def pg_binary(db: Database, name: str) -> str:
    bindir: Path = db.cluster.binaries.bindir if db.cluster else find_binaries(db.settings.pg_binaries).bindir
    return str(bindir / name)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env
