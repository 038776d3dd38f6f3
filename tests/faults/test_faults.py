"""Fault tests (issue 3 item 7, ARCHITECTURE.md §6; hardening 5: a certificate revoked while `juki serve`
runs): the intake server killed with SIGKILL in the middle of
a batch, PostgreSQL restarted in immediate mode under load, the 全国サーバ unreachable for longer than the
relay's backoff, and peers that fail authentication. After each fault the invariants hold:

* every notification the 市町村CS got an answer for is in the file exactly once: one accepted inbox row
  per (municipality, notification id), and the current and history tables equal those of a fault-free,
  in-process run of the same stream (S-38, F1-1, F2-1);
* every accepted change has exactly one outbox row, with its 更新順番号;
* every outbox row ends sent (dead letters are redriven): none lost, none left pending;
* the national simulator's copy equals the prefectural file's notices, no idempotency key was applied
  twice, every delivery is in the simulator's request log (S-24), and nothing reached a peer that failed
  authentication (S-42).

The 市町村CS is played by :class:`ResendingCs`: it sends the synthetic stream in order, one batch at a
time, and resends a batch it got no answer for (connection error or 5xx) with the same bytes and ids, as a
real 市町村CS does. "Mid-batch" is made deterministic with a row lock: the test locks the current row of a
person the target batch changes, so the server's transaction is provably open (waiting in PostgreSQL,
after its advisory locks and reads began) when the fault strikes.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from juki.config import Settings
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.municipal import _batches  # the simulator's batching: per-person order across municipalities
from juki.peers.national import NationalKind, NationalSimulator, RunningServer
from juki.services.access.pki import Pki, client_context, server_context
from juki.services.jlis.relay import OutboxRelay, Peer, RelayPolicy, redrive, status
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.registry.load import load_population
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster, find_binaries
from juki.store.migrate import migrate
from juki.synth import generate_changes, write_population
from tests.conftest import TEMPLATE
from tests.peers.national_support import Certs, make_pki, sim_database
from tests.services.jlis.accepted_changes import apply, birth, fuhyo_birth, fuhyo_move, move

PERSONS, SEED, CHANGES, BATCH = 400, 11, 240, 20
FILES = ("pref", "fuhyo")
CURRENT = {"pref": "pref.identity_current", "fuhyo": "fuhyo.fuhyo_current"}
HISTORY = {"pref": "pref.identity_history", "fuhyo": "fuhyo.fuhyo_history"}
NATIONAL_KIND = {"pref": NationalKind.NATIONAL, "fuhyo": NationalKind.FUHYO_NATIONAL}
#: Columns that legitimately differ between two runs of the same stream (clock, gaps in the sequence
#: left by rolled-back transactions, inbox ids shifted by the resends' inbox rows).
RUN_SPECIFIC = frozenset(
    {"update_seq", "updated_at", "notified_on", "retain_until", "superseded_at", "superseded_by_seq"}
    | {"superseded_by_inbox"}
)
#: Relay timings for tests: retries come back within a fraction of a second.
QUICK = RelayPolicy(
    batch_size=20,
    lease_seconds=3.0,
    timeout_seconds=2.0,
    max_attempts=100,
    backoff_base_seconds=0.02,
    backoff_cap_seconds=0.1,
)
SENDER_DEADLINE = 60.0
_names = itertools.count()


# ------------------------------------------------------------------------------------ the stream


@dataclass(frozen=True)
class Batch:
    """One POST of a 市町村CS: its sender (the certificate), its file, its JSON Lines."""

    sender: str
    file: str
    lines: tuple[bytes, ...]

    @property
    def body(self) -> bytes:
        return b"\n".join(self.lines)

    def ids(self) -> list[tuple[str, str]]:
        return [(n["municipality_code"], n["notification_id"]) for n in map(orjson.loads, self.lines)]

    def codes(self) -> set[str]:
        out: set[str] = set()
        for n in map(orjson.loads, self.lines):
            out |= {n[k] for k in ("juminhyo_code", "new_juminhyo_code") if isinstance(n.get(k), str)}
        return out


@functools.cache
def stream() -> tuple[Batch, ...]:
    """The synthetic stream (every notification valid) as the municipal CS simulator batches it."""
    changes = generate_changes(PERSONS, SEED, CHANGES)
    return tuple(Batch(s, f, tuple(line for line, _ in items)) for s, f, items in _batches(changes, BATCH))


def apply_in_process(db: Database, batch: Batch) -> list[dict[str, Any]]:
    """What the intake API does with a batch, without HTTP (same source, sender and batch size)."""
    role = DbRole.PREF if batch.file == "pref" else DbRole.FUHYO
    with db.connect(role) as conn:
        applier = NotificationApplier(
            {FileKind(batch.file): conn}, batch_size=len(batch.lines), only=FileKind(batch.file)
        )
        results = applier.apply(iter_lines([batch.body]), source=f"cs:{batch.sender}", sender=batch.sender)
        return [r.to_dict() for r in results]


Snapshot = dict[str, dict[tuple[str, int], dict[str, Any]]]


def snapshot(db: Database) -> Snapshot:
    """Both files' current and history rows by (住民票コード, version), without run-specific columns."""
    out: Snapshot = {}
    with db.connect() as conn:
        for table in (*CURRENT.values(), *HISTORY.values()):
            cur = conn.execute(f"SELECT * FROM {table}")
            names = [d.name for d in cur.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            out[table] = {
                (r["juminhyo_code"], r["version"]): {k: v for k, v in r.items() if k not in RUN_SPECIFIC}
                for r in rows
            }
    return out


def make_db(conninfo: str, data_dir: Path, name: str, cluster: EmbeddedCluster) -> Database:
    settings = Settings(data_dir=data_dir, database_url=conninfo, database_name=name)
    return Database(settings=settings, cluster=cluster, _admin_conninfo=conninfo)


def load_into(db: Database, population: Path, rejects: Path) -> None:
    load_population(
        {FileKind.PREF: db.admin_conninfo, FileKind.FUHYO: db.admin_conninfo},
        population,
        rejects_dir=rejects,
        workers_per_file=0,
    )


@contextlib.contextmanager
def database_from(cluster: EmbeddedCluster, template: str, data_dir: Path) -> Iterator[Database]:
    name = f"f{os.getpid()}_{next(_names)}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield make_db(cluster.conninfo(name), data_dir, name, cluster)
    finally:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("population")
    write_population(out, PERSONS, SEED)
    return out


@pytest.fixture(scope="module")
def loaded_template(
    cluster: EmbeddedCluster, population: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database holding the synthetic population, to clone for each test."""
    name = f"faults_pop_{os.getpid()}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        db = make_db(cluster.conninfo(name), tmp_path_factory.mktemp("pop-db"), name, cluster)
        load_into(db, population, tmp_path_factory.mktemp("rejects"))
        yield name
    finally:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def reference(
    cluster: EmbeddedCluster, loaded_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Snapshot:
    """The files after the stream applied in process without any fault: what every fault run must equal."""
    with database_from(cluster, loaded_template, tmp_path_factory.mktemp("ref")) as db:
        for batch in stream():
            results = apply_in_process(db, batch)
            assert [r["status"] for r in results] == ["accepted"] * len(batch.lines), results
        return snapshot(db)


# ------------------------------------------------------------------------------- the municipal CS


def cs_client(pki: Pki, lg_code: str, base_url: str) -> httpx.Client:
    """A 市町村CS's mTLS client (its own certificate, issued on first use)."""
    name = f"cs-{lg_code}"
    if not pki.cert_path(name).exists():
        pki.issue(PeerRole.MUNICIPAL_CS, name, lg_code=lg_code)
    context = client_context(pki.cert_path(name), pki.key_path(name), pki.ca_cert_path)
    return httpx.Client(base_url=base_url, verify=context, timeout=15.0, trust_env=False)


def post(client: httpx.Client, batch: Batch) -> httpx.Response:
    return client.post(
        f"/cs/v1/{batch.file}/notifications",
        content=batch.body,
        headers={"content-type": "application/x-ndjson"},
    )


class ResendingCs:
    """Sends the batches in order from a thread; a batch without an answer is resent until answered."""

    def __init__(self, pki: Pki, base_url: str, batches: tuple[Batch, ...]) -> None:
        self.batches = batches
        self.clients = {s: cs_client(pki, s, base_url) for s in sorted({b.sender for b in batches})}
        self.answers: list[list[dict[str, Any]]] = []
        self.unanswered: Counter[int] = Counter()  # batch index → attempts that got no answer
        self.errors: list[str] = []
        self.exception: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="municipal-cs", daemon=True)

    def send_until_answered(self, index: int, deadline: float) -> list[dict[str, Any]]:
        batch = self.batches[index]
        while True:
            try:
                response = post(self.clients[batch.sender], batch)
            except httpx.TransportError as exc:  # the server died, or the connection was cut
                self.errors.append(f"batch {index}: {type(exc).__name__}")
            else:
                if response.status_code == 200:
                    results: list[dict[str, Any]] = response.json()["results"]
                    return results
                if response.status_code < 500:
                    raise AssertionError(f"batch {index} refused: {response.status_code} {response.text}")
                self.errors.append(f"batch {index}: HTTP {response.status_code}")
            self.unanswered[index] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {index} got no answer: {self.errors[-3:]}")
            time.sleep(0.05)

    def _run(self) -> None:
        deadline = time.monotonic() + SENDER_DEADLINE
        try:
            for index in range(len(self.batches)):
                self.answers.append(self.send_until_answered(index, deadline))
        except BaseException as exc:
            self.exception = exc

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join(SENDER_DEADLINE + 10)
        assert not self.thread.is_alive(), "the municipal CS did not finish"
        if self.exception is not None:
            raise self.exception

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


# ------------------------------------------------------------------------------- fault helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pick_target(batches: tuple[Batch, ...], existing: set[str]) -> tuple[int, str]:
    """A File 1 batch a third of the way in, and a person it changes who no earlier batch touches."""
    seen: set[str] = set()
    for index, batch in enumerate(batches):
        if batch.file != "pref":
            continue
        codes = batch.codes()
        if index >= len(batches) // 3:
            fresh = sorted((codes - seen) & existing)
            if fresh:
                return index, fresh[0]
        seen |= codes
    raise AssertionError("the stream has no File 1 batch to interrupt")


def existing_codes(db: Database) -> set[str]:
    with db.connect() as conn:
        return {str(r[0]) for r in conn.execute("SELECT juminhyo_code FROM pref.identity_current")}


@contextlib.contextmanager
def row_lock(db: Database, code: str) -> Iterator[None]:
    """Hold a lock on one person's File 1 row: a batch changing that person waits inside its transaction."""
    conn = psycopg.connect(db.admin_conninfo)
    try:
        row = conn.execute(
            "SELECT 1 FROM pref.identity_current WHERE juminhyo_code = %s FOR UPDATE", (code,)
        ).fetchone()
        assert row is not None
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()


def server_waits_on_lock(db: Database) -> bool:
    """True when a File 1 intake transaction is blocked on a lock (the batch is mid-transaction)."""
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(db.admin_conninfo) as conn:
        row = conn.execute(
            """SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND usename = 'juki_pref' AND wait_event_type = 'Lock'
                  AND query LIKE '%identity_current%'"""
        ).fetchone()
        return row is not None and int(row[0]) > 0
    return False


def counts(db: Database) -> dict[str, int]:
    out: dict[str, int] = {}
    with db.connect() as conn:
        for file in FILES:
            for what, query in (
                ("accepted", f"SELECT count(*) FROM {file}.notification_inbox WHERE status = 'accepted'"),
                ("outbox", f"SELECT count(*) FROM {file}.outbox"),
            ):
                row = conn.execute(query).fetchone()
                assert row is not None
                out[f"{file}.{what}"] = int(row[0])
    return out


# ------------------------------------------------------------------------------- the invariants


def check_intake(db: Database, cs: ResendingCs, reference: Snapshot) -> None:
    """Every answered notification is in the file exactly once, with one outbox row; the file equals the
    fault-free run's."""
    batches = cs.batches
    assert len(cs.answers) == len(batches)
    with db.connect() as conn:
        for file in FILES:
            mine = [(i, b) for i, b in enumerate(batches) if b.file == file]
            ids = [key for _, b in mine for key in b.ids()]
            assert len(ids) == len(set(ids))
            accepted: dict[tuple[str, str], tuple[int, int]] = {
                (str(m), str(n)): (int(c), int(s))
                for m, n, c, s in conn.execute(
                    f"""SELECT municipality_code, notification_id, count(*), min(update_seq)
                          FROM {file}.notification_inbox WHERE status = 'accepted' GROUP BY 1, 2"""
                )
            }
            assert set(accepted) == set(ids), f"{file}: accepted inbox rows ≠ notifications sent"
            assert all(c == 1 for c, _ in accepted.values()), f"{file}: a notification accepted twice"
            seq_of = {key: s for key, (_, s) in accepted.items()}
            for index, batch in mine:
                answer = cs.answers[index]
                assert [r["status"] for r in answer] == ["accepted"] * len(batch.lines), (index, answer)
                assert [r["update_seq"] for r in answer] == [seq_of[k] for k in batch.ids()]
            [(rejected,)] = conn.execute(
                f"SELECT count(*) FROM {file}.notification_inbox WHERE status = 'rejected'"
            ).fetchall()
            assert rejected == 0
            outbox = dict(
                conn.execute(f"SELECT update_seq, count(*) FROM {file}.outbox GROUP BY 1").fetchall()
            )
            assert outbox == dict.fromkeys(seq_of.values(), 1), f"{file}: outbox rows ≠ accepted changes"
    assert snapshot(db) == reference


def check_duplicate_resend(db: Database, cs: ResendingCs, indexes: list[int]) -> None:
    """A batch the server committed but whose answer was lost is sent again: every item is "duplicate"
    with the 更新順番号 of the first time, and nothing new is written."""
    before = counts(db)
    for index in indexes:
        batch = cs.batches[index]
        response = post(cs.clients[batch.sender], batch)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results] == ["duplicate"] * len(batch.lines)
        assert [r["update_seq"] for r in results] == [r["update_seq"] for r in cs.answers[index]]
    assert counts(db) == before


def deliver_everything(db: Database, file: str, peer: Peer, timeout: float = 30.0) -> None:
    """Run the relay until the file's outbox has nothing pending (the peer is up)."""
    with OutboxRelay(db, file, peer, QUICK) as relay:

        def done() -> bool:
            relay.run_once()
            return bool(status(db, [file])[file]["pending"] == 0)

        wait_until(done, timeout, f"the {file} outbox to drain")


def check_national(db: Database, file: str, sim: NationalSimulator) -> None:
    """Every outbox row sent; the national copy holds each person's latest notice, which is the
    prefectural file's current row; every key delivered, none applied twice."""
    with db.connect() as conn:
        states = dict(conn.execute(f"SELECT status, count(*) FROM {file}.outbox GROUP BY 1").fetchall())
        keys = {str(k) for (k,) in conn.execute(f"SELECT idempotency_key FROM {file}.outbox")}
        latest = {
            str(code): (int(seq), payload)
            for code, seq, payload in conn.execute(
                f"""SELECT DISTINCT ON (juminhyo_code) juminhyo_code, update_seq, payload
                      FROM {file}.outbox ORDER BY juminhyo_code, update_seq DESC"""
            )
        }
        current = {
            str(code): (address, int(seq), end_kind)
            for code, address, seq, end_kind in conn.execute(
                f"SELECT juminhyo_code, address, update_seq, end_kind FROM {CURRENT[file]}"
            )
        }
    assert states == {"sent": len(keys)}, states
    assert {code: (v["update_seq"], v["record"]) for code, v in sim.copy().items()} == latest
    for code, (seq, payload) in latest.items():
        address, current_seq, end_kind = current[code]
        if end_kind != "code_changed":  # an old code's last notice predates the change that ended it
            assert (payload["address"], seq) == (address, current_seq), code
    log = sim.request_log()
    assert {k for k, _ in log} == keys  # every notice reached the peer (and was logged there)
    applied = Counter(k for k, outcome in log if outcome == "applied")
    assert all(n == 1 for n in applied.values()), [k for k, n in applied.items() if n > 1]


@contextlib.contextmanager
def national_sims(
    cluster: EmbeddedCluster, certs: Certs
) -> Iterator[dict[str, tuple[NationalSimulator, RunningServer]]]:
    """Both J-LIS simulators, each with its own database in the session cluster."""
    server_cert = {"pref": certs.national, "fuhyo": certs.fuhyo_national}
    with contextlib.ExitStack() as stack:
        out: dict[str, tuple[NationalSimulator, RunningServer]] = {}
        for file in FILES:
            sim = NationalSimulator(NATIONAL_KIND[file], stack.enter_context(sim_database(cluster)))
            stack.callback(sim.close)
            running = stack.enter_context(sim.serve_in_thread(certs.server_ctx(server_cert[file])))
            out[file] = (sim, running)
        yield out


def relay_peer(certs: Certs, file: str, running: RunningServer) -> Peer:
    cert = certs.pref_server if file == "pref" else certs.fuhyo_server
    return Peer(running.url, certs.client_ctx(cert))


# ----------------------------------------------------------------------- 1. kill -9 of the server


class IntakeProcess:
    """`juki serve` in a process of its own, so that it can be killed with SIGKILL."""

    def __init__(self, data_dir: Path, database_url: str, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.env = {**os.environ, "JUKI_DATABASE_URL": database_url, "JUKI_DATA_DIR": str(data_dir)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, probe: httpx.Client) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "juki.entry",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--cert-name",
                    "pref-server",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

        def accepts_tls() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"juki serve exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                return probe.get("/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(accepts_tls, 30.0, "juki serve to accept mTLS connections", interval=0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no rollback from the process, sockets simply vanish."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_kill_9_of_the_intake_server_mid_batch_loses_nothing_and_applies_nothing_twice(
    cluster: EmbeddedCluster, loaded_template: str, reference: Snapshot, tmp_path: Path
) -> None:
    """S-38, F1-1, F2-1, S-24: `juki serve` is killed with SIGKILL while a batch's transaction is open;
    the 市町村CS resends every batch it got no answer for after the restart. Every notification ends
    accepted exactly once with one outbox row, the files equal a fault-free run, a resend of a committed
    batch is answered "duplicate", and the national copies equal the files after the relay ran."""
    data_dir = tmp_path / "data"
    certs = make_pki(data_dir / "pki")  # includes "pref-server", the intake's certificate
    batches = stream()
    port = free_port()
    with database_from(cluster, loaded_template, data_dir) as db:
        target, person = pick_target(batches, existing_codes(db))
        server = IntakeProcess(data_dir, db.admin_conninfo, port, tmp_path / "serve.log")
        url = f"https://127.0.0.1:{port}"
        with (
            contextlib.closing(ResendingCs(certs.pki, url, batches)) as cs,
            cs_client(certs.pki, batches[0].sender, url) as probe,
        ):
            try:
                server.start(probe)
                with row_lock(db, person):
                    cs.start()
                    wait_until(
                        lambda: server_waits_on_lock(db), 30.0, f"batch {target} to block mid-transaction"
                    )
                    assert len(cs.answers) == target  # every batch before it answered, it is in flight
                    server.kill()
                # The lock is released: the orphaned backend finds its client gone and rolls back.
                server.start(probe)
                cs.join()
                assert cs.unanswered[target] >= 1 and set(cs.unanswered) == {target}
                # check_intake also finds the target batch answered "accepted" (not "duplicate") after
                # the restart: the killed transaction left nothing behind.
                check_intake(db, cs, reference)
                first_fuhyo = next(i for i, b in enumerate(batches) if b.file == "fuhyo")
                check_duplicate_resend(db, cs, [target, 0, first_fuhyo])
            finally:
                server.stop()

        with national_sims(cluster, certs) as sims:
            for file in FILES:
                sim, running = sims[file]
                deliver_everything(db, file, relay_peer(certs, file, running))
                check_national(db, file, sim)


# -------------------------------------------------------------- 2. PostgreSQL immediate restart


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    """A cluster of this test's own: it is crashed and restarted (the session cluster never is)."""
    own = EmbeddedCluster(tmp_path / "own", find_binaries(os.environ.get("JUKI_PG_BINARIES", "auto")))
    try:
        own.start()
        yield own
    finally:
        own.stop("immediate")
        if own.data_dir not in own.socket_dir.parents:
            shutil.rmtree(own.socket_dir, ignore_errors=True)


def test_postgresql_immediate_restart_during_a_batch_loses_nothing_and_applies_nothing_twice(
    cluster: EmbeddedCluster,
    own_cluster: EmbeddedCluster,
    population: Path,
    reference: Snapshot,
    tmp_path: Path,
) -> None:
    """S-38, F1-1, F2-1, S-24: PostgreSQL crashes (`pg_ctl stop -m immediate`) and restarts while a batch's
    transaction is open and the relay is delivering. The in-flight batch fails (no answer or a 5xx), the
    市町村CS resends it after the restart; the relay reconnects and redelivers what it had leased. Every
    notification ends accepted exactly once, every change has one outbox row, everything is sent, the
    national copy equals the file, and no notice was applied twice."""
    with psycopg.connect(own_cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE juki")
    with psycopg.connect(own_cluster.conninfo("juki"), autocommit=True) as conn:
        migrate(conn)
    db = make_db(own_cluster.conninfo("juki"), tmp_path, "juki", own_cluster)
    load_into(db, population, tmp_path / "rejects")
    certs = make_pki(tmp_path / "pki")
    batches = stream()
    target, person = pick_target(batches, existing_codes(db))
    intake_ctx = certs.server_ctx(certs.pref_server)

    stop_relay = threading.Event()
    relay_failure: list[BaseException] = []

    with (
        national_sims(cluster, certs) as sims,
        serve_in_thread(create_intake_app(db), intake_ctx) as server,
    ):
        sim, national = sims["pref"]
        relay = OutboxRelay(
            db, "pref", relay_peer(certs, "pref", national), QUICK, worker_id="relay-under-fault"
        )

        def run_relay() -> None:
            try:
                relay.run_forever(stop_relay, idle_seconds=0.05)
            except BaseException as exc:
                relay_failure.append(exc)

        relay_thread = threading.Thread(target=run_relay, name="relay", daemon=True)
        with contextlib.closing(ResendingCs(certs.pki, f"https://127.0.0.1:{server.port}", batches)) as cs:
            try:
                relay_thread.start()
                with row_lock(db, person):
                    cs.start()
                    wait_until(
                        lambda: server_waits_on_lock(db), 30.0, f"batch {target} to block mid-transaction"
                    )
                    assert len(cs.answers) == target
                    before = own_cluster.postmaster_pid()
                    own_cluster.restart("immediate")
                    assert own_cluster.postmaster_pid() != before
                cs.join()
                assert cs.unanswered[target] >= 1 and set(cs.unanswered) == {target}
                wait_until(
                    lambda: status(db, ["pref"])["pref"]["pending"] == 0, 30.0, "the relay to catch up", 0.1
                )
            finally:
                stop_relay.set()
                relay_thread.join(15)
                relay.close()
            assert not relay_thread.is_alive() and relay_failure == []
            check_intake(db, cs, reference)
            check_duplicate_resend(db, cs, [target])
            check_national(db, "pref", sim)
            fuhyo_sim, fuhyo_national = sims["fuhyo"]
            deliver_everything(db, "fuhyo", relay_peer(certs, "fuhyo", fuhyo_national))
            check_national(db, "fuhyo", fuhyo_sim)


# ------------------------------------------------- 3. the national server unreachable for a while


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_pki(tmp_path_factory.mktemp("pki"))


OUTAGE = RelayPolicy(
    batch_size=10,
    lease_seconds=5.0,
    timeout_seconds=1.0,
    max_attempts=3,
    backoff_base_seconds=0.05,
    backoff_cap_seconds=0.2,
    breaker_failures=4,
)


@pytest.mark.parametrize("file", FILES)
def test_national_server_unreachable_longer_than_the_backoff_then_redrive_loses_nothing(
    file: str, db: Database, cluster: EmbeddedCluster, certs: Certs
) -> None:
    """F1-1/F2-1, S-24: the J-LIS server goes away (its port closed) for longer than the backoff: rows back
    off, some are dead-lettered after max_attempts, none is marked sent. It comes back, the dead letters
    are redriven, the relay runs until the outbox is empty: every row sent, the national copy equals the
    prefectural file, and no idempotency key was applied twice."""
    first_births = birth if file == "pref" else fuhyo_birth
    relocation = move if file == "pref" else fuhyo_move
    apply(db, *(first_births(n) for n in range(1, 9)))
    server_cert = certs.national if file == "pref" else certs.fuhyo_national
    ctx = certs.server_ctx(server_cert)
    with sim_database(cluster) as conninfo:
        sim = NationalSimulator(NATIONAL_KIND[file], conninfo)
        running = sim.serve_in_thread(ctx)
        try:
            peer = relay_peer(certs, file, running)
            deliver_everything(db, file, peer)  # the copy holds persons 1..8
            apply(
                db,
                *(first_births(n) for n in range(9, 17)),
                *(relocation(n, 2) for n in range(1, 17, 2)),
                *(relocation(n, 3) for n in range(1, 17, 4)),
            )
            running.stop()  # unreachable: connection refused

            backing_off: list[int] = []  # pending rows with a failed attempt, seen after each pass
            with OutboxRelay(db, file, peer, OUTAGE) as relay:

                def some_dead() -> bool:
                    relay.run_once()
                    now = status(db, [file])[file]
                    backing_off.append(now["retrying"])
                    return bool(now["dead"] >= 1)

                wait_until(some_dead, 30.0, "a row to be dead-lettered", interval=0.02)
            info = status(db, [file])[file]
            # A row fails, waits out its backoff, fails again... until max_attempts: the outage outlasted it.
            assert max(backing_off) >= 1, backing_off
            assert info["sent"] == 8, info  # nothing was marked sent while the peer was away
            with db.connect() as conn:
                errors = [
                    str(e)
                    for (e,) in conn.execute(
                        f"SELECT last_error FROM {file}.outbox WHERE status <> 'sent' AND attempts > 0"
                    )
                ]
            assert errors and all("ConnectError" in e for e in errors), errors

            running = sim.serve_in_thread(ctx, port=running.port)  # back, same address
            assert redrive(db, file) == info["dead"]
            deliver_everything(db, file, peer)
            check_national(db, file, sim)
        finally:
            running.stop()
            sim.close()


# --------------------------------------------- 4. S-42: nothing is sent to an unauthenticated peer


def impostor_context(kind: str, certs: Certs, tmp_path: Path) -> ssl.SSLContext:
    """The TLS context of a server pretending to be the 全国サーバ; each trusts our CA, so it would
    gladly take the relay's client certificate: only the relay's own check protects the notices."""
    ca, crl = certs.pki.ca_cert_path, certs.pki.crl_path
    if kind == "another_ca":
        rogue = Pki(tmp_path / "rogue")
        rogue.init()
        cert = rogue.issue(PeerRole.NATIONAL, "national")
        return server_context(cert.cert_path, cert.key_path, ca, None)
    if kind == "revoked":
        cert = certs.pki.issue(PeerRole.NATIONAL, "national-stolen")
        certs.pki.revoke("national-stolen", "key_compromise")
        certs.pki.publish_crl()
        return server_context(cert.cert_path, cert.key_path, ca, crl)
    if kind == "client_role":  # a 市町村CS certificate of our CA (clientAuth only, no host name)
        return certs.server_ctx(certs.municipal)
    if kind == "other_server_role":  # the 附票全国サーバ's genuine certificate
        return certs.server_ctx(certs.fuhyo_national)
    raise ValueError(kind)


#: What the relay records as the reason (last_error) for each impostor.
REFUSAL = {
    "another_ca": "CERTIFICATE_VERIFY_FAILED",
    "revoked": "CERTIFICATE_VERIFY_FAILED",
    "client_role": "CERTIFICATE_VERIFY_FAILED",
    "other_server_role": "E_SERVER_ROLE",
}
FAIL_FAST = RelayPolicy(
    batch_size=10,
    lease_seconds=3.0,
    timeout_seconds=1.0,
    max_attempts=2,
    backoff_base_seconds=0.01,
    backoff_cap_seconds=0.02,
)


@pytest.mark.parametrize(
    "kind",
    [
        "another_ca",
        "revoked",
        "client_role",
        "other_server_role",
    ],
)
def test_S42_nothing_is_sent_to_a_peer_that_fails_authentication(
    kind: str, db: Database, cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    """S-42: the relay pointed at a server that is not an authenticated 全国サーバ (another CA, a revoked
    certificate, a certificate of a client role, the certificate of another server role) sends it no
    notice: the impostor records nothing, no row is marked sent (they back off, then are dead-lettered).
    Pointed at the genuine 全国サーバ and redriven, every row is delivered: nothing was lost."""
    certs = make_pki(tmp_path / "pki")
    apply(db, *(birth(n) for n in range(1, 4)), move(1, 2))
    with sim_database(cluster) as conninfo:
        impostor = NationalSimulator(NationalKind.NATIONAL, conninfo)
        try:
            with impostor.serve_in_thread(impostor_context(kind, certs, tmp_path)) as running:
                with OutboxRelay(db, "pref", relay_peer(certs, "pref", running), FAIL_FAST) as relay:

                    def all_dead() -> bool:
                        relay.run_once()
                        return bool(status(db, ["pref"])["pref"]["pending"] == 0)

                    wait_until(all_dead, 20.0, "every row to be dead-lettered")
                assert impostor.request_log() == [] and impostor.copy() == {}
        finally:
            impostor.close()
    info = status(db, ["pref"])["pref"]
    assert (info["sent"], info["dead"]) == (0, 4)
    with db.connect() as conn:
        errors = [str(e) for (e,) in conn.execute("SELECT last_error FROM pref.outbox")]
    assert errors and all(REFUSAL[kind] in e for e in errors), errors

    with national_sims(cluster, certs) as sims:
        sim, genuine = sims["pref"]
        assert redrive(db, "pref") == 4
        deliver_everything(db, "pref", relay_peer(certs, "pref", genuine))
        check_national(db, "pref", sim)


# ------------------------------------------- hardening 5: a certificate revoked while `juki serve` runs


CRL_RELOAD_SECONDS = 1


def test_hardening_5_S41_a_municipality_revoked_while_juki_serve_runs_is_refused_within_the_bound(
    db: Database, tmp_path: Path
) -> None:
    """`juki pki revoke` (which republishes the CRL) while `juki serve` runs: within
    JUKI_CRL_RELOAD_SECONDS (plus a margin for a loaded machine) the revoked 市町村CS gets no answer on
    a new connection, another 市町村CS still does, no restart, and the server's log names the address
    and the reason of every refused handshake (no personal data: there is none in a handshake)."""
    data_dir = tmp_path / "data"
    certs = make_pki(data_dir / "pki")
    revoked, other = "141011", "141020"
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    server = IntakeProcess(data_dir, db.admin_conninfo, port, tmp_path / "serve.log")
    server.env["JUKI_CRL_RELOAD_SECONDS"] = str(CRL_RELOAD_SECONDS)

    def answered(lg_code: str) -> bool:
        """A new connection (a new handshake) of the 市町村CS ``lg_code`` gets an HTTP answer."""
        with cs_client(certs.pki, lg_code, url) as client:
            try:
                return client.get("/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

    try:
        with cs_client(certs.pki, revoked, url) as probe:
            server.start(probe)
        assert answered(revoked) and answered(other)
        runner = subprocess.run(
            [
                sys.executable,
                "-m",
                "juki.entry",
                "pki",
                "revoke",
                f"cs-{revoked}",
                "--reason",
                "keyCompromise",
            ],
            env=server.env,
            capture_output=True,
            timeout=60,
        )
        assert runner.returncode == 0, runner.stderr
        start = time.monotonic()
        wait_until(
            lambda: not answered(revoked), CRL_RELOAD_SECONDS + 10, "the revoked 市町村CS to be refused"
        )
        assert time.monotonic() - start <= CRL_RELOAD_SECONDS + 3
        assert answered(other)
        assert server.proc is not None and server.proc.poll() is None  # the same process: no restart
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text(errors="replace")
    refused = [line for line in log.splitlines() if "TLS handshake failed" in line]
    assert refused and all(
        "from 127.0.0.1:" in line and line.endswith("certificate revoked") for line in refused
    )
