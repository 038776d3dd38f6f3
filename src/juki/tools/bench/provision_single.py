"""The single-provision latency (F1-2 / F2-2) for `juki bench provision` (p-bulk owns the command).

**Ours** is the whole service as the terminal calls it (`services.provision.single.provide`): the
rights check, the catalog read and check, the 4情報 search of the file for exactly one person, the
operation-log row (hash-chained append), the provision record and the commit — one transaction per
provision on an autocommit connection of the file's role. **Baseline**, on the same keys in the same
run: the bare local search (the same matcher SQL, at most two rows), no catalog, no log, no record.
Both are timed per request, interleaved, after an untimed warm-up.

The keys are drawn from persons stored in the file (kana name + birth date, File 2: living in Japan),
so some are shared by several persons and answer P_AMBIGUOUS — refusals are part of the work a
terminal does and are recorded like provisions; the outcome counts say how many.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from juki.domain.provision import KeyType, Method
from juki.domain.records import FileKind, FuhyoStatus
from juki.files import PREF, file_spec
from juki.services.access.actor import Actor, TerminalKind
from juki.services.jlis.client import Basic4, SearchKeys, TooManyMatches
from juki.services.jlis.local_first import search_local
from juki.services.provision.catalog import Task, load_catalog
from juki.services.provision.single import ProvisionRequest, provide
from juki.store.db import Database
from juki.tools.bench.registry import bench_load

__all__ = ["single_provision_latency"]


def _task(db: Database, file: FileKind) -> Task:
    """The first task of the catalog in force that serves ``file`` by 4情報 on screen."""
    with db.connect(file_spec(file).db_role) as conn:
        catalog = load_catalog(conn)
    for task in catalog.tasks.values():
        if KeyType.BASIC4 in task.keys_for(file) and Method.SCREEN in task.methods_for(file):
            return task
    raise ValueError(f"no task of the provision catalog serves {file.value} by 4情報 on screen")


def _actor(task: Task) -> Actor:
    """The benchmark's operator of the task's requester: no session, logged through the "bench"
    system channel (audit_api.append_system), like `juki bench search`."""
    return Actor(
        operator_id=0,
        login="bench",
        roles=frozenset({f"provision_operator@{task.requester.code}"}),
        terminal_id=0,
        terminal_name="bench",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        system="bench",
    )


def _keys(db: Database, file: FileKind, n: int, seed: int) -> list[tuple[str, str]]:
    """(kana name, birth date) of about ``n`` present persons of the file, sampled by block."""
    spec = file_spec(file)
    living = sorted(spec.present_statuses - {FuhyoStatus.ABROAD.value})[0]
    with db.connect() as conn:
        total_row = conn.execute(
            f"SELECT reltuples::bigint FROM pg_class WHERE oid = '{spec.current}'::regclass"
        ).fetchone()
        total = max(int(total_row[0]) if total_row else 0, 1)
        percent = min(100.0, 100.0 * 4 * n / total + 0.01)
        rows = conn.execute(
            f"SELECT name_kana, birth_date FROM {spec.current} TABLESAMPLE SYSTEM (%s) REPEATABLE (%s)"
            f" WHERE status = %s AND birth_date ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' LIMIT %s",
            (percent, seed, living, 4 * n),
        ).fetchall()
    keys = [(str(r[0]), str(r[1])) for r in rows]
    random.Random(seed).shuffle(keys)
    return (keys * (1 + n // max(len(keys), 1)))[:n]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def single_provision_latency(
    db: Database,
    persons: int,
    samples: int,
    *,
    seed: int = 1,
    file: FileKind = FileKind.PREF,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Time ``samples`` single provisions on a file holding at least ``persons`` persons (loaded with
    the ordinary loader into ``work_dir`` when fewer are there and a work directory is given).
    Returns the JSON object of the benchmark (p50/p99 of ours and of the baseline, in ms)."""
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    loaded = int(row[0]) if row else 0
    if loaded < persons:
        if work_dir is None:
            raise ValueError(
                f"the database holds {loaded} persons, {persons} asked for: give a work_dir to load"
            )
        bench_load(db, work_dir, persons, seed)
        loaded = persons
    task = _task(db, file)
    actor = _actor(task)
    keys = _keys(db, file, samples, seed)
    if not keys:
        raise ValueError(f"no person in {file.value} to ask for")
    role = file_spec(file).db_role
    ours: list[float] = []
    base: list[float] = []
    outcomes: Counter[str] = Counter()
    with db.connect(role, autocommit=True) as conn, db.connect(role, autocommit=True) as base_conn:

        def baseline(i: int) -> float:
            name, birth = keys[i]
            t0 = time.perf_counter()
            # Several matches (TooManyMatches) end the baseline's work as they end the service's.
            with contextlib.suppress(TooManyMatches):
                search_local(
                    base_conn,
                    file,
                    SearchKeys(basic4=Basic4(name_kana=name, birth_date=birth)),
                    max_matches=1,
                )
            return time.perf_counter() - t0

        def service(i: int) -> float:
            name, birth = keys[i]
            request = ProvisionRequest(
                file=file,
                requester=task.requester.code,
                task=task.code,
                key_type=KeyType.BASIC4.value,
                method=Method.SCREEN.value,
                name_kana=name,
                birth_date=birth,
            )
            t0 = time.perf_counter()
            result = provide(conn, actor, request)
            seconds = time.perf_counter() - t0
            outcomes[result.result.value] += 1
            return seconds

        for i in range(min(len(keys), 50)):  # warm-up of the pages and the planner (nothing recorded)
            baseline(i)
        for i in range(len(keys)):
            if i % 2:
                base.append(baseline(i))
                ours.append(service(i))
            else:
                ours.append(service(i))
                base.append(baseline(i))
    p99, b99 = _percentile(ours, 0.99), _percentile(base, 0.99)
    return {
        "benchmark": "provision_single",
        "file": file.value,
        "persons": loaded,
        "samples": len(keys),
        "task": f"{task.requester.code}:{task.code}",
        "outcomes": dict(outcomes),
        "p50_ms": round(_percentile(ours, 0.5) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "baseline_p50_ms": round(_percentile(base, 0.5) * 1000, 3),
        "baseline_p99_ms": round(b99 * 1000, 3),
        "p99_ratio": round(p99 / b99, 3) if b99 else None,
    }
