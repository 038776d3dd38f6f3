"""`juki bench intake`: notifications/s end to end, against in-process apply in the same run.

End to end = the 市町村CS simulator sends a fresh synthetic stream over mTLS (each municipality with
its own certificate) → the intake commits it → the relays deliver every accepted change over mTLS
to the national simulators; the clock stops when the last notice has been delivered. The baseline
applies another fresh stream of the same size with `NotificationApplier` in-process (same ledger,
no network), so the ratio shows what the network path costs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from juki.domain.records import FileKind
from juki.files import all_files
from juki.peers.municipal import MunicipalCsSimulator
from juki.peers.network import local_network
from juki.peers.processes import ProcessNetwork, process_network
from juki.services.registry.intake import Summary
from juki.store.db import Database
from juki.tools.bench.registry import bench_load, machine, peak_rss_mib


def _pending(db: Database) -> int:
    """Notices not yet delivered, counted from the pending rows only (partial index): the operators'
    status summary scans the whole outbox, which polled every 50 ms cost PostgreSQL more CPU than the
    relays' own work and slowed the very thing being measured."""
    pending = " + ".join(
        f"(SELECT count(*) FROM {spec.outbox} WHERE status = 'pending')" for spec in all_files()
    )
    with db.connect(autocommit=True) as conn:
        row = conn.execute(f"SELECT {pending}").fetchone()
    return int(row[0]) if row else 0


def _drain(db: Database, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while _pending(db) and time.monotonic() < deadline:
        time.sleep(0.05)


def _set_aside_backlog(db: Database) -> int:
    """Notices left pending by earlier benchmark runs (the update benchmark has no relay) are marked
    dead with a reason, so this run measures only its own notices. Benchmark database only."""
    total = 0
    for spec in all_files():
        with db.connect() as conn:
            cur = conn.execute(
                f"UPDATE {spec.outbox} SET status = 'dead', "
                "last_error = 'set aside by juki bench intake: left by an earlier benchmark run' "
                "WHERE status = 'pending'"
            )
            total += cur.rowcount
            conn.commit()
    return total


def bench_intake(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int,
    notifications: int,
    batch: int = 500,
    *,
    processes: bool = False,
    gate: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``gate``: called when everything is up, just before the clock starts — `juki bench intake
    --prefectures N` uses it to start N prefectures' streams at the same moment."""
    from juki.tools.bench.registry import apply_stream
    from juki.tools.bench.streams import fitting_stream, require_work, stored_persons

    loaded = stored_persons(db)
    if loaded < persons:
        bench_load(db, work_dir, persons, seed)
        loaded = stored_persons(db)
    set_aside = _set_aside_backlog(db)
    # Baseline: in-process apply of a fresh stream of the same size, drawn from the stored persons.
    base_stream = fitting_stream(db, seed, notifications)
    applied = apply_stream(db, base_stream.lines, batch)
    require_work(
        "intake (in-process baseline)", applied.outcomes, base_stream.intended_accepted, notifications
    )
    baseline, baseline_seconds = applied.summary, applied.seconds
    # Ours: another fresh stream, drawn after the baseline changed the file, sent over the network
    # and delivered to the national simulators.
    drawn = fitting_stream(db, seed, notifications)
    changes = drawn.changes
    mode = "processes" if processes else "threads"
    network = process_network(db, work_dir / "logs") if processes else _threaded_network(db, work_dir)
    with network as net:
        # The baseline's own notices are delivered first, so the clock covers exactly this stream.
        _drain(db)
        if gate is not None:
            gate()
        cpu_before = _cpu(db, net)
        started = time.monotonic()
        simulator = MunicipalCsSimulator(net.pki, net.intake_url)
        try:
            sent = simulator.send(changes, batch_size=batch)
        finally:
            simulator.close()
        sent_seconds = time.monotonic() - started
        _drain(db)
        seconds = time.monotonic() - started
        cpu_after = _cpu(db, net)
    require_work("intake", sent.outcomes, drawn.intended_accepted, notifications)
    report = _result(
        loaded, notifications, sent, baseline, seconds, sent_seconds, baseline_seconds, set_aside, db, mode
    )
    report["streams"] = {"baseline": base_stream.stream, "ours": drawn.stream}
    report["intended"] = dict(drawn.intended)
    report["cpu_seconds"] = {k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu_after.items()}
    return report


def _cpu(db: Database, net: ProcessNetwork) -> dict[str, float]:
    """CPU seconds so far of this process (the municipal simulators; in --threads mode everything),
    of each peer process, and of the PostgreSQL server processes, to show where the cores went."""
    me = psutil.Process().cpu_times()
    out = {"bench-process": me.user + me.system, **net.cpu_seconds()}
    if db.cluster is not None:
        out["postgresql"] = _postgres_cpu(db.cluster.postmaster_pid())
    return out


def _postgres_cpu(pid: int | None) -> float:
    # Backends that exited during the run are not counted: the servers keep their connections open.
    if pid is None:
        return 0.0
    try:
        postmaster = psutil.Process(pid)
        procs = [postmaster, *postmaster.children()]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


@contextlib.contextmanager
def _threaded_network(db: Database, work_dir: Path) -> Iterator[ProcessNetwork]:
    """The network as threads of this process, with both relays delivering in the background."""
    with local_network(db, work_dir / "pki", sim_prefix="juki_bench_sim") as net:
        stop = threading.Event()
        relays = [net.relay(kind) for kind in FileKind]
        # The relays poll often: an idle relay would otherwise notice new notices up to a second late.
        threads = [
            threading.Thread(target=r.run_forever, args=(stop,), kwargs={"idle_seconds": 0.05}, daemon=True)
            for r in relays
        ]
        for thread in threads:
            thread.start()
        try:
            yield ProcessNetwork(net.pki, net.intake.url)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
            for relay in relays:
                relay.close()


def _result(
    loaded: int,
    notifications: int,
    sent: Any,
    baseline: Summary,
    seconds: float,
    sent_seconds: float,
    baseline_seconds: float,
    set_aside: int,
    db: Database,
    mode: str,
) -> dict[str, Any]:
    undelivered = _pending(db)
    delivered = max(0, sent.outcomes.get("accepted", 0) - undelivered)
    rate = delivered / seconds
    baseline_rate = baseline.accepted / baseline_seconds
    return {
        "mode": mode,
        "benchmark": "intake",
        "persons": loaded,
        "notifications": notifications,
        "batches": sent.batches,
        "outcomes": sent.outcomes,
        "baseline_outcomes": dict(baseline.__dict__),
        "seconds": round(seconds, 2),
        "intake_seconds": round(sent_seconds, 2),
        "delivered": delivered,
        "rate_per_s": round(rate, 1),
        "rate_counts": "notifications accepted, committed and delivered to the national simulators",
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "undelivered": undelivered,
        "backlog_set_aside": set_aside,
        "peak_rss_mib": peak_rss_mib(),
        "target": {"rate_per_s": 1000, "ratio": 0.5},
        "machine": machine(),
    }
