"""`juki bench provision`: bulk provision end to end (F1-2b) and single provision (F1-2) at scale.

Bulk: the requester simulator builds a request file of ``requests`` rows with the realistic mix
(juki.peers.requester) from the loaded file; **ours** is the bulk service from the file's bytes to the
published result file — read and check every row, derive the keys with the one matcher, COPY into the
job, match set-based, write every provision record and the log row, COPY the result out, publish it —
run in a fresh process so its peak memory is its own; **baseline** is the same work in plain SQL in the
same run: COPY of the already prepared keys into a table, the same three joins, the count per row, the
answer with the items COPYed out (no parsing, no records, no log). Every result row is checked against
the simulator's expectations; a wrong result refuses the benchmark.

Single: ``singles`` provisions through juki.services.provision.single.provide (rights, catalog, match,
record, log row, commit) against the bare local search, measured by p-core's
juki.tools.bench.provision_single.single_provision_latency.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from psycopg import sql

from juki.config import Settings
from juki.domain.provision import KeyType
from juki.domain.records import FileKind
from juki.files import PREF
from juki.peers.requester import build_request, check_result
from juki.services.access.actor import Actor, TerminalKind
from juki.services.provision.bulk import service
from juki.services.provision.bulk.request_file import ROW_COLUMNS, RequestStats, read_request
from juki.services.provision.bulk.results import ResultStore, result_directory
from juki.services.provision.catalog import load_catalog
from juki.services.search.matcher import basic4_join_parts
from juki.store.copy import copy_line
from juki.store.db import Database
from juki.tools.bench.provision_single import single_provision_latency
from juki.tools.bench.registry import bench_load, machine, peak_rss_mib
from juki.tools.bench.streams import BenchmarkInvalid

__all__ = ["bench_provision"]

REQUESTER: Final = "koan"
TASK: Final = "unten-menkyo"
_CHUNK: Final = 1024 * 1024


def _actor(role: str) -> Actor:
    """The benchmark's operator: a requester's bound role at a 代表端末, logged as the system "bench"."""
    return Actor(
        operator_id=0,
        login="bench",
        roles=frozenset({f"{role}@{REQUESTER}"}),
        terminal_id=0,
        terminal_name="bench",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=True,
        system="bench",
    )


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def run_bulk(settings: Settings, admin_conninfo: str, request: Path) -> dict[str, Any]:
    """Ours, in its own process: the request file in → the result file out. Returns timing and memory."""
    db = Database(settings=settings, _admin_conninfo=admin_conninfo)
    store = ResultStore(result_directory(settings))
    started = time.monotonic()
    with db.connect(PREF.db_role, autocommit=True) as conn:
        job = service.submit_at_terminal(
            conn, _actor("bulk_requester"), FileKind.PREF, requester_code=REQUESTER, task_code=TASK,
            chunks=_chunks(request), file_name=request.name, store=store, approval_rows=10**9,
        )  # fmt: skip
    seconds = time.monotonic() - started
    return {
        "seconds": seconds,
        "job_id": job.id,
        "state": job.state.value,
        "counts": job.counts,
        "result": str(store.path(FileKind.PREF, job.id)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _prepared_keys(request: Path, out: Path, keys: frozenset[KeyType]) -> None:
    """The baseline's input: the request's keys as the service derives them, as COPY text (untimed)."""
    stats = RequestStats()
    with out.open("w", encoding="utf-8") as handle:
        for row in read_request(_chunks(request), allowed_keys=keys, stats=stats):
            values = list(row.values())
            if row.address_patterns is not None:
                values[ROW_COLUMNS.index("address_patterns")] = _array_literal(row.address_patterns)
            handle.write(copy_line(values))


def _array_literal(values: list[str]) -> str:
    """A text[] in PostgreSQL's array input syntax (copy_line escapes it for COPY)."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def _baseline(db: Database, keys_path: Path, items: tuple[str, ...]) -> float:
    """The same join of prepared keys in plain SQL: COPY in, three joins, counts, the answer COPYed out."""
    spec = PREF
    columns = sql.SQL(", ").join(map(sql.Identifier, ROW_COLUMNS))
    present = sql.SQL(spec.present_sql.replace("status", "c.status"))
    item_sql = sql.SQL("").join(sql.SQL(", c.{}").format(sql.Identifier(i)) for i in items)
    with db.connect(spec.db_role, autocommit=True) as conn:
        started = time.monotonic()
        with conn.transaction():
            conn.execute(
                "CREATE TEMP TABLE k (row_no integer, request_ref text, key_type text, juminhyo_code text,"
                ' my_number text, seion text COLLATE "C", birth_lo integer, birth_hi integer, sex text,'
                ' address_patterns text[] COLLATE "C", refusal text, detail text) ON COMMIT DROP'
            )
            with conn.cursor() as cur, cur.copy(sql.SQL("COPY k ({}) FROM STDIN").format(columns)) as copy:
                for chunk in _chunks(keys_path):
                    copy.write(chunk)
            conn.execute("CREATE TEMP TABLE h (row_no integer, n integer, person text) ON COMMIT DROP")
            conn.execute("ANALYZE k")
            every = sql.SQL("true")
            for key_type, which, on in (
                ("resident_code", every, sql.SQL("c.juminhyo_code = r.juminhyo_code")),
                ("my_number", every, sql.SQL("c.my_number = r.my_number")),
                # The same split as the service's, so both sides join the same way.
                *(("basic4", w, o) for w, o in basic4_join_parts("r", "c")),
            ):
                conn.execute(
                    sql.SQL(
                        "INSERT INTO h SELECT r.row_no, count(*), min(c.juminhyo_code) FROM k r JOIN {} c"
                        " ON {} AND {} WHERE r.key_type = %s AND r.refusal IS NULL AND ({})"
                        " GROUP BY r.row_no"
                    ).format(sql.SQL(spec.current), on, present, which),
                    (key_type,),
                )
            query = sql.SQL(
                "COPY (SELECT r.row_no, r.request_ref, CASE WHEN r.refusal IS NOT NULL THEN r.refusal"
                " WHEN h.n IS NULL THEN 'P_NOT_FOUND' WHEN h.n = 1 THEN 'P_MATCH'"
                " ELSE 'P_AMBIGUOUS' END{items}"
                " FROM k r LEFT JOIN h ON h.row_no = r.row_no LEFT JOIN {current} c"
                " ON c.juminhyo_code = h.person AND h.n = 1 ORDER BY r.row_no) TO STDOUT (FORMAT csv)"
            ).format(items=item_sql, current=sql.SQL(spec.current))
            with conn.cursor() as cur, cur.copy(query) as copy:
                for _ in copy:
                    pass
        return time.monotonic() - started


def bench_provision(
    db: Database,
    work_dir: Path,
    persons: int,
    requests: int,
    seed: int = 1,
    singles: int = 2000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Run the provision benchmark; returns the JSON object `juki bench provision` prints."""
    with db.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    loaded = int(row[0]) if row else 0
    if loaded < persons:
        bench_load(db, work_dir, persons, seed, progress)
    with db.connect(autocommit=True) as conn:
        conn.execute(f"ANALYZE {PREF.current}")
        row = conn.execute(f"SELECT count(*) FROM {PREF.current}").fetchone()
    rows_in_file = int(row[0]) if row else 0
    with db.connect(PREF.db_role, autocommit=True) as conn:
        task = load_catalog(conn).task(REQUESTER, TASK)
        assert task is not None, "the shipped catalog has the benchmark's task"
        keys = frozenset(task.keys_for(FileKind.PREF))
        request = work_dir / "provision" / f"request-{requests}-{seed}.csv"
        t0 = time.monotonic()
        built = build_request(conn, FileKind.PREF, request, rows=requests, allowed_keys=keys, seed=seed)
        build_seconds = time.monotonic() - t0
    keys_path = request.with_suffix(".keys.tsv")
    _prepared_keys(request, keys_path, keys)
    settings = replace(db.settings)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        ours = pool.apply(run_bulk, (settings, db.admin_conninfo, request))
    check = check_result(Path(ours["result"]), built.expected)
    if not check.passed:
        raise BenchmarkInvalid(f"bulk result differs from the simulator's expectations: {check.to_dict()}")
    baseline_seconds = _baseline(db, keys_path, tuple(i for i in task.items[FileKind.PREF]))
    # p-core's measurement of the single path (provide(): rights, catalog, match, record, log row, commit).
    single = single_provision_latency(db, persons, singles, seed=seed, file=FileKind.PREF) if singles else {}
    seconds = float(ours["seconds"])
    rate, baseline_rate = requests / seconds, requests / baseline_seconds
    return {
        "benchmark": "provision",
        "persons": rows_in_file,
        "requests": built.rows,
        "mix": built.expected_counts,
        "result_counts": ours["counts"],
        "result_checked_rows": check.rows,
        "seconds": round(seconds, 2),
        "rate_per_s": round(rate, 1),
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "bulk_peak_rss_mib": ours["peak_rss_mib"],
        "build_seconds": round(build_seconds, 2),
        "single": single,
        "peak_rss_mib": peak_rss_mib(),
        "target": {"seconds_for_1m_at_10m": 120, "ratio": 0.3, "single_p99_ms": 30},
        "machine": machine(),
    }
