"""The failover drill (S-49, issue 14 item 3): the primary's machine lost in the middle of the intake.

A pg_auto_failover formation on loopback (:mod:`juki.tools.ha_formation`), juki migrated onto it and
loaded with a synthetic population, the intake server (mutual TLS, the app of `juki serve`) and both relays
running against the multi-host URL, the municipal CS simulator streaming notifications — and
`kill -9` of the primary's postmaster and keeper mid-stream. The simulator resends what got
E_DB_UNAVAILABLE or no answer; the standby is promoted by the monitor; clients follow it.

Measured per run:

* **RTO** — from the kill to the first notification answered ``accepted`` whose request was sent
  after the kill, i.e. a write committed on the new primary;
* **RPO** — acknowledged notifications (answered ``accepted``, or ``duplicate`` on a resend) missing
  from the new primary's inbox: must be 0 (synchronous standby).

`juki bench failover --runs N` prints the runs as JSON; tests/faults/test_failover.py runs one
drill and checks the invariants on what it leaves behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from juki.config import Settings
from juki.domain.records import FileKind
from juki.files import all_files
from juki.interfaces.intake_api import close_pools, create_intake_app
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.municipal import BatchAnswer, MunicipalCsSimulator, SendReport
from juki.peers.national import NationalSimulator
from juki.peers.network import _server_context, cert_name, ensure_pki, sibling_database
from juki.services.access.pki import Pki, client_context
from juki.services.jlis.relay import OutboxRelay, Peer, RelayPolicy, status
from juki.services.operations.ha import HaPlan
from juki.services.registry.load import load_population
from juki.store.db import Database
from juki.store.embedded import EmbeddedCluster, find_binaries
from juki.store.migrate import migrate
from juki.synth import generate_changes, write_population
from juki.tools.ha_formation import LocalFormation

#: Loopback ports of the drill (the range this project's helpers keep to).
PORT_RANGE = (56000, 56999)
#: The relay's timings in the drill: a lost connection is retried within a fraction of a second.
DRILL_RELAY = RelayPolicy(
    batch_size=50, lease_seconds=5.0, timeout_seconds=3.0, max_attempts=100,
    backoff_base_seconds=0.05, backoff_cap_seconds=0.5,
)  # fmt: skip
#: Hard bounds of one drill (seconds).
SERVE_START_TIMEOUT = 60.0
STREAM_TIMEOUT = 150.0
DRAIN_TIMEOUT = 60.0


def free_port(taken: set[int]) -> int:
    """A free loopback port in PORT_RANGE, not in ``taken``."""
    low, high = PORT_RANGE
    for port in random.sample(range(low, high + 1), high - low + 1):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 56000-56999")


class _Keep(logging.Handler):
    """Keeps the intake's log records (warnings and up) for the drill's checks."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FailoverRun:
    """One drill's figures (seconds; counts of notifications)."""

    rto_seconds: float | None
    promoted_seconds: float | None  # kill → the monitor shows the standby as primary
    acknowledged: int
    lost_acknowledged: int  # RPO: acknowledged, not in the new primary
    sent: int
    resent_batches: int
    mismatches: int
    old_primary: str
    new_primary: str | None
    stream_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FailoverDrill:
    """Everything of one drill, alive between :meth:`start` and :meth:`stop` (the test inspects it)."""

    base: Path
    sim_admin_conninfo: str  # a PostgreSQL server where the J-LIS simulators get databases of their own
    persons: int = 400
    changes: int = 400
    batch: int = 10
    seed: int = 11
    kill_after_batches: int = 10
    ports: set[int] = field(default_factory=set)
    answers: list[BatchAnswer] = field(default_factory=list)
    report: SendReport | None = None
    killed_at: float = 0.0
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    # -- set-up ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.plan = HaPlan(
            base=self.base / "formation",
            monitor_port=free_port(self.ports),
            node_ports=(free_port(self.ports), free_port(self.ports)),
        )
        self.formation = LocalFormation(self.plan)
        self._stack.callback(self.formation.stop)
        self.formation.start()
        self.data_dir = self.base / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The drill's administrator is the nodes' superuser over loopback trust (a shortcut of the
        # drill: the deployment guide's juki_admin is a non-superuser with a password); the servers
        # still connect as juki_pref / juki_fuhyo, which own nothing.
        self.url = self.plan.database_url("postgres")
        with psycopg.connect(self.formation.node_conninfo("node1"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.plan.database)))
        settings = Settings(data_dir=self.data_dir, database_url=self.url, database_name=self.plan.database)
        self.db = Database(settings=settings, _admin_conninfo=self.url)
        with psycopg.connect(self.url, autocommit=True) as conn:
            migrate(conn)
        population = self.base / "population"
        write_population(population, self.persons, self.seed)
        load_population(
            {FileKind.PREF: self.url, FileKind.FUHYO: self.url},
            population,
            rejects_dir=self.base / "rejects",
            workers_per_file=0,
        )
        self.pki: Pki = ensure_pki(self.data_dir / "pki", settings.prefecture)
        self._start_national()
        self._start_intake()

    def _start_national(self) -> None:
        sims = Database(settings=Settings(data_dir=self.data_dir), _admin_conninfo=self.sim_admin_conninfo)
        tag = f"{os.getpid()}_{self.plan.monitor_port}"
        self.national: dict[FileKind, NationalSimulator] = {}
        self.stop_relays = threading.Event()
        self._stack.callback(self.stop_relays.set)
        self.relay_failures: list[BaseException] = []
        for spec in all_files():
            kind = "national" if spec.kind is FileKind.PREF else "fuhyo_national"
            sim = NationalSimulator(kind, sibling_database(sims, f"drill_{kind}_{tag}"))
            self._stack.callback(sim.close)
            server_name = cert_name(spec.national_peer)
            running = sim.serve_in_thread(_server_context(self.pki, server_name, 30.0))
            self._stack.callback(running.stop)
            self.national[spec.kind] = sim
            own = cert_name(spec.server_peer)
            context = client_context(self.pki.cert_path(own), self.pki.key_path(own), self.pki.ca_cert_path)
            relay = OutboxRelay(self.db, spec.kind, Peer(running.url, context), DRILL_RELAY)
            thread = threading.Thread(target=self._relay, args=(relay,), name=f"relay-{kind}", daemon=True)
            thread.start()
            self._stack.callback(thread.join, 20)  # runs after stop_relays.set (LIFO)

    def _relay(self, relay: OutboxRelay) -> None:
        try:
            relay.run_forever(self.stop_relays, idle_seconds=0.1)
        except BaseException as exc:  # the drill reports it; the relay must survive the failover
            self.relay_failures.append(exc)
        finally:
            relay.close()

    def _start_intake(self) -> None:
        """The intake server — uvicorn with juki's mTLS protocol, the app of `juki serve` — in a
        thread of this process, its warnings and errors kept in ``intake_log``. (A `juki serve`
        process of its own needed over three minutes just to import on 2 cores shared by a dozen
        busy processes; the server code is the same.)"""
        self.intake_log: list[logging.LogRecord] = []
        handler = _Keep(self.intake_log)
        for name in ("juki.intake", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).addHandler(handler)
            self._stack.callback(logging.getLogger(name).removeHandler, handler)
        app = create_intake_app(self.db)
        self._stack.callback(close_pools, app)
        context = _server_context(self.pki, "pref-server", 30.0)
        running = self._stack.enter_context(
            serve_in_thread(app, context, port=free_port(self.ports), timeout=SERVE_START_TIMEOUT)
        )
        self.intake_port = running.port

    def stop(self) -> None:
        self._stack.close()

    # -- the drill -------------------------------------------------------------------------------
    def run(self) -> FailoverRun:
        """Stream, lose the primary after ``kill_after_batches`` answered batches, finish the stream,
        let the relays drain; return the figures."""
        old_primary = self.formation.primary()
        assert old_primary is not None
        lock = threading.Lock()

        def record(answer: BatchAnswer) -> None:
            with lock:
                self.answers.append(answer)

        simulator = MunicipalCsSimulator(
            self.pki, f"https://127.0.0.1:{self.intake_port}", timeout=30.0, on_answer=record
        )
        failure: list[BaseException] = []

        def send() -> None:
            try:
                changes = generate_changes(self.persons, self.seed, self.changes)
                self.report = simulator.send(changes, batch_size=self.batch, concurrency=2)
            except BaseException as exc:
                failure.append(exc)

        began = time.monotonic()
        sender = threading.Thread(target=send, name="municipal-cs", daemon=True)
        sender.start()
        try:
            while len(self.answers) < self.kill_after_batches:
                if not sender.is_alive():
                    raise RuntimeError(f"the stream ended before the kill: {failure}")
                if time.monotonic() - began > STREAM_TIMEOUT:
                    raise TimeoutError("no answers from the intake")
                time.sleep(0.01)
            self.killed_at = time.monotonic()
            self.formation.lose_node(old_primary)
            promoted = self._wait_promoted(old_primary)
            sender.join(max(1.0, STREAM_TIMEOUT - (time.monotonic() - began)))
            if sender.is_alive():
                raise TimeoutError("the municipal CS did not finish its stream")
            if failure:
                raise failure[0]
        finally:
            simulator.close()
        stream_seconds = time.monotonic() - began
        self.wait_drained()
        report = self.report
        assert report is not None
        acknowledged = self.acknowledged()
        return FailoverRun(
            rto_seconds=self._rto(),
            promoted_seconds=promoted,
            acknowledged=len(acknowledged),
            lost_acknowledged=len(acknowledged - self.committed()),
            sent=report.sent,
            resent_batches=report.resent_batches,
            mismatches=len(report.mismatches),
            old_primary=old_primary,
            new_primary=self.formation.primary(),
            stream_seconds=round(stream_seconds, 3),
        )

    def _wait_promoted(self, old: str) -> float | None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.Error):
                now = self.formation.primary()
                if now is not None and now != old:
                    return round(time.monotonic() - self.killed_at, 3)
            time.sleep(0.1)
        return None

    def _rto(self) -> float | None:
        after = [
            a.answered
            for a in self.answers
            if a.started > self.killed_at and any(r["status"] == "accepted" for r in a.results)
        ]
        return round(min(after) - self.killed_at, 3) if after else None

    def acknowledged(self) -> set[tuple[str, str, str, int]]:
        """(file, municipality, notification id, 更新順番号) of every notification the CS holds an
        acknowledgement for (accepted, or duplicate on a resend)."""
        return {
            (a.file, r["municipality_code"], r["notification_id"], int(r["update_seq"]))
            for a in self.answers
            for r in a.results
            if r["status"] in ("accepted", "duplicate")
        }

    def committed(self) -> set[tuple[str, str, str, int]]:
        """The same keys as the new primary's inboxes hold them (accepted rows)."""
        out: set[tuple[str, str, str, int]] = set()
        with psycopg.connect(self.url) as conn:
            for spec in all_files():
                rows = conn.execute(
                    sql.SQL(
                        "SELECT municipality_code, notification_id, update_seq FROM {}.notification_inbox"
                        " WHERE status = 'accepted'"
                    ).format(sql.Identifier(spec.kind.value))
                )
                out |= {(spec.kind.value, str(m), str(n), int(s)) for m, n, s in rows}
        return out

    def wait_drained(self) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                pending = status(self.db)
                if all(pending[spec.kind.value]["pending"] == 0 for spec in all_files()):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the relays did not drain the outbox after the failover")
            time.sleep(0.2)


@contextlib.contextmanager
def failover_drill(base: Path, sim_admin_conninfo: str, **options: Any) -> Iterator[FailoverDrill]:
    drill = FailoverDrill(base, sim_admin_conninfo, **options)
    try:
        drill.start()
        yield drill
    finally:
        drill.stop()


def bench_failover(
    runs: int, *, persons: int = 400, changes: int = 400, each: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """`juki bench failover`: ``runs`` drills, each on a fresh formation; the J-LIS simulators'
    databases in an embedded cluster of their own (the national side is another machine).
    ``each`` sees every run's figures as soon as it ends (a later run's failure keeps them)."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ha-bench-") as scratch:
        os.chmod(scratch, 0o755)  # the postgres account must reach the formation's directories
        jlis = EmbeddedCluster(Path(scratch) / "jlis", find_binaries("auto"))
        jlis.start()
        try:
            for index in range(runs):
                load = os.getloadavg()[0]
                with failover_drill(
                    Path(scratch) / f"run{index}", jlis.conninfo("postgres"), persons=persons, changes=changes
                ) as drill:
                    run = drill.run().as_dict()
                run["load_average_1m_before"] = round(load, 2)
                run["load_average_1m_after"] = round(os.getloadavg()[0], 2)
                results.append(run)
                if each is not None:
                    each(run)
        finally:
            jlis.stop("immediate")
    rtos = [r["rto_seconds"] for r in results if r["rto_seconds"] is not None]
    return {
        "benchmark": "failover",
        "machine": {"cpus": os.cpu_count(), "load_average_1m_after": round(os.getloadavg()[0], 2)},
        "timers": "FAST_TIMERS (juki.services.operations.ha)",
        "runs": results,
        "rto_seconds_max": max(rtos) if rtos else None,
        "lost_acknowledged_total": sum(r["lost_acknowledged"] for r in results),
    }
