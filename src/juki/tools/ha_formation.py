"""A pg_auto_failover formation on loopback for the failover drill and its fault test.

Runs the commands of :class:`juki.services.operations.ha.HaPlan` — Debian's `pg_autoctl`, nothing
home-made — in a scratch directory: the monitor, then node 1 (primary), then node 2 (its synchronous
standby). PostgreSQL refuses to run as root, so as root every command runs as Debian's `postgres`
account (`runuser`, as tests/tools/test_deployment_guide.py does). pg_autoctl keeps its state under
the XDG directories, pointed into the scratch directory so nothing of the machine's own is touched.

Each `pg_autoctl run` is a process group of its own (the keeper, its PostgreSQL and the backends):
:meth:`LocalFormation.lose_node` is the loss of that machine — `kill -9` of the postmaster and of the
keeper that would otherwise restart it in place.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg

from juki.services.operations.ha import FAST_NETWORK_PARTITION_TIMEOUT, FAST_TIMERS, HaPlan

SERVICE_ACCOUNT = "postgres"


class FormationError(RuntimeError):
    """The formation did not reach the expected state in time; the message says which."""


@dataclass
class LocalFormation:
    plan: HaPlan
    timers: dict[str, int] = field(default_factory=lambda: dict(FAST_TIMERS))
    _runs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # -- running pg_autoctl ----------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        base = self.plan.base
        return {
            "PATH": f"{self.plan.pg_ctl.parent}:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(base),
            "XDG_CONFIG_HOME": str(base / "xdg" / "config"),
            "XDG_DATA_HOME": str(base / "xdg" / "data"),
            "XDG_RUNTIME_DIR": str(base / "xdg" / "run"),
        }

    def _argv(self, argv: list[str]) -> list[str]:
        prefix = ["runuser", "-u", SERVICE_ACCOUNT, "--"] if os.geteuid() == 0 else []
        return ["nice", "-n", "19", *prefix, *argv]

    def _call(self, argv: list[str], timeout: float = 120.0) -> None:
        done = subprocess.run(
            self._argv(argv), env=self._env(), capture_output=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
            raise FormationError(f"{argv[:3]} failed ({done.returncode}): {tail}")

    def _start(self, name: str, pgdata: Path) -> None:
        log = open(self.plan.base / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process
        self._runs[name] = subprocess.Popen(
            self._argv(self.plan.run(pgdata)),
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the keeper, its postgres, the backends
        )
        log.close()

    # -- life cycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 150.0) -> None:
        """Monitor, primary, standby; returns when the monitor sees primary + secondary."""
        base = self.plan.base
        base.mkdir(parents=True, exist_ok=True)
        (base / "xdg" / "run").mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVICE_ACCOUNT)
            for path in (base, *base.rglob("*")):
                os.chown(path, account.pw_uid, account.pw_gid)
            os.chmod(base, 0o755)
        deadline = time.monotonic() + timeout
        self._call(self.plan.create_monitor())
        self._call(self.plan.monitor_listen())
        self._start("monitor", self.plan.monitor_pgdata)
        self._wait(self._monitor_ready, deadline, "the monitor to accept connections")
        with psycopg.connect(self.monitor_conninfo("postgres"), autocommit=True) as conn:
            for statement in self.plan.monitor_settings_sql(self.timers):
                conn.execute(statement)  # fixed SQL built from FAST_TIMERS (names and integers)
        for index in (0, 1):
            self._call(self.plan.create_node(index))
            self._call(self.plan.keeper_timeout(index, FAST_NETWORK_PARTITION_TIMEOUT))
            self._start(self.plan.node_name(index), self.plan.node_pgdata(index))
            wanted = {"node1": "single"} if index == 0 else {"node1": "primary", "node2": "secondary"}
            self._wait(partial(self._settled, wanted), deadline, f"states {wanted}")

    def stop(self) -> None:
        """Kill every process group this formation started, then remove its directory."""
        for run in self._runs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.wait(10)
        for index in (0, 1):  # a postmaster outside the group (none expected): by its own pid file
            self._kill_postmaster(self.plan.node_pgdata(index))
        self._kill_postmaster(self.plan.monitor_pgdata)
        shutil.rmtree(self.plan.base, ignore_errors=True)

    def lose_node(self, name: str) -> None:
        """The machine of ``name`` is lost: kill -9 of its postmaster and of its pg_autoctl keeper."""
        index = int(name.removeprefix("node")) - 1
        self._kill_postmaster(self.plan.node_pgdata(index))
        run = self._runs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(10)

    @staticmethod
    def _kill_postmaster(pgdata: Path) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    # -- state -----------------------------------------------------------------------------------
    def monitor_conninfo(self, user: str = "autoctl_node") -> str:
        return f"host={self.plan.host} port={self.plan.monitor_port} dbname=pg_auto_failover user={user}"

    def node_conninfo(self, name: str, dbname: str = "postgres", user: str = "postgres") -> str:
        port = self.plan.node_ports[int(name.removeprefix("node")) - 1]
        return f"host={self.plan.host} port={port} dbname={dbname} user={user} connect_timeout=3"

    def states(self) -> dict[str, tuple[str, str]]:
        """node name → (reported state, assigned state), as the monitor holds them."""
        with psycopg.connect(self.monitor_conninfo(), connect_timeout=3) as conn:
            rows = conn.execute("SELECT nodename, reportedstate, goalstate FROM pgautofailover.node")
            return {str(n): (str(r), str(g)) for n, r, g in rows}

    def primary(self) -> str | None:
        """The node the monitor has as (wait_)primary, both reported and assigned; None in between."""
        for name, (reported, goal) in self.states().items():
            if reported == goal and reported in ("primary", "wait_primary"):
                return name
        return None

    def _monitor_ready(self) -> bool:
        try:
            self.states()
        except psycopg.Error:
            return False
        return True

    def _settled(self, wanted: dict[str, str]) -> bool:
        try:
            states = self.states()
        except psycopg.Error:
            return False
        return all(states.get(name) == (state, state) for name, state in wanted.items())

    def _wait(self, condition: Callable[[], bool], deadline: float, what: str) -> None:
        while not condition():
            for name, run in self._runs.items():
                if run.poll() is not None:
                    log = (self.plan.base / f"{name}.log").read_text(errors="replace")[-2000:]
                    raise FormationError(f"pg_autoctl {name} exited ({run.returncode}): {log}")
            if time.monotonic() > deadline:
                raise FormationError(f"timed out waiting for {what}: {self._safe_states()}")
            time.sleep(0.2)

    def _safe_states(self) -> object:
        try:
            return self.states()
        except psycopg.Error as exc:
            return type(exc).__name__


@contextlib.contextmanager
def local_formation(plan: HaPlan, timers: dict[str, int] | None = None) -> Iterator[LocalFormation]:
    formation = LocalFormation(plan, dict(FAST_TIMERS if timers is None else timers))
    try:
        formation.start()
        yield formation
    finally:
        formation.stop()
