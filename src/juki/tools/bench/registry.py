"""Benchmarks (`juki bench load|update`): our path against a raw PostgreSQL baseline, same run.

Every benchmark prints one JSON object with at least `persons`, `seconds`, `rate_per_s`,
`baseline_rate_per_s` and `ratio` (ours / baseline), plus the machine it ran on. Benchmarks use
their own database (default `juki_bench`) so they never touch operational data.

- load: persons/s of `load_population` (parse, validate, derive keys, COPY into the indexed schema,
  rebuild indexes, ANALYZE) vs. a plain `COPY … FROM STDIN (FORMAT csv)` of the very same CSV files
  into index-free tables of text columns.
- update: notifications/s through the full update ledger (checks, history, inbox, outbox, commit per
  batch) on the loaded database vs. a bare INSERT of the same notification rows into a plain table,
  in batches of the same size, committed the same way.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
import psycopg
from psycopg.types.json import Jsonb

from juki.domain.lgcodes import DEFAULT_PREFECTURE
from juki.files import PREF, all_files
from juki.services.registry.intake import NotificationApplier, Summary
from juki.services.registry.load import LoadReport, default_workers, load_population
from juki.store.db import Database

_BASELINE_TABLES: dict[str, tuple[str, ...]] = {
    name: columns
    for spec in all_files()
    for name, columns in (
        (f"{spec.value}_current", spec.csv_columns),
        (f"{spec.value}_history", spec.history_csv_columns),
    )
}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's waited-for children (the loader processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> dict[str, float]:
    """Peak resident memory of this process and of its (waited-for) child processes, MiB."""
    scale = 1024  # ru_maxrss is in KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 2**20
    return {"self": round(own, 1), "children_max": round(children, 1)}


@dataclass
class PopulationFiles:
    directory: Path
    persons: int
    seed: int


def ensure_population(
    base: Path,
    persons: int,
    seed: int,
    progress: Callable[[int], None] | None,
    prefecture: str = DEFAULT_PREFECTURE,
) -> PopulationFiles:
    """Synthesise the population CSVs once per (prefecture, persons, seed); later runs reuse them."""
    from juki.synth import write_population

    place = "" if prefecture == DEFAULT_PREFECTURE else f"{prefecture}-"
    directory = base / f"population-{place}{persons}-{seed}-{_synth_fingerprint()}"
    marker = directory / ".complete"
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True)
        write_population(directory, persons, seed, prefecture=prefecture, progress=progress)
        marker.write_text("ok\n")
    return PopulationFiles(directory, persons, seed)


def _synth_fingerprint() -> str:
    """A digest of the generator's source: a cached population is reused only by the same generator
    (the update benchmark regenerates persons and must see exactly what was loaded)."""
    import hashlib
    from importlib import resources

    digest = hashlib.sha256()
    package = resources.files("juki.synth")
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:12]


def reset_database(db: Database) -> None:
    """Drop and recreate the benchmark database (embedded or external admin connection)."""
    from juki.store.migrate import migrate

    name = db.settings.database_name
    admin = psycopg.conninfo.conninfo_to_dict(db.admin_conninfo)
    admin["dbname"] = "postgres"
    with psycopg.connect(psycopg.conninfo.make_conninfo(**admin), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with db.connect(autocommit=True) as conn:
        migrate(conn)


def baseline_copy(db: Database, files: PopulationFiles) -> float:
    """Seconds for a plain COPY of the same CSV files into index-free text tables."""
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_baseline CASCADE")
        conn.execute("CREATE SCHEMA bench_baseline")
        for table, columns in _BASELINE_TABLES.items():
            cols = ", ".join(f"{c} text" for c in columns)
            conn.execute(f"CREATE TABLE bench_baseline.{table} ({cols})")
    started = time.monotonic()
    with db.connect() as conn:
        for table in _BASELINE_TABLES:
            path = files.directory / f"{table}.csv"
            if not path.exists():
                continue
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY bench_baseline.{table} FROM STDIN (FORMAT csv, HEADER true)") as copy,
                open(path, "rb") as handle,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        conn.commit()
    seconds = time.monotonic() - started
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP SCHEMA bench_baseline CASCADE")
    return seconds


def bench_load(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int,
    progress: Callable[[str, int], None] | None = None,
    *,
    workers_per_file: int | None = None,
    floor: bool = False,
) -> dict[str, Any]:
    """Persons/s of ``load_population`` against a plain COPY of the same CSVs (the module's "load").

    ``floor`` also measures PostgreSQL's own floor for juki's schema (``load_floor``): the loaded rows
    copied out and back in with no Python work, the loader's way. It needs disk for one more copy of
    the rows and leaves the same rows loaded."""
    files = ensure_population(
        work_dir,
        persons,
        seed,
        (lambda n: progress("synth", n)) if progress else None,
        db.settings.prefecture,
    )
    reset_database(db)
    baseline_seconds = baseline_copy(db, files)
    reset_database(db)  # the baseline's pages must not help or hurt ours
    started = time.monotonic()
    cpu_before = _children_cpu_seconds()
    workers = default_workers(len(list(all_files()))) if workers_per_file is None else workers_per_file
    reports = load_population(
        {spec.kind: db.admin_conninfo for spec in all_files()},
        files.directory,
        rejects_dir=work_dir / "rejects",
        check_mode=db.settings.juminhyo_check_digit,
        prefecture=db.settings.prefecture,
        progress=(lambda d: progress("load", d.get(PREF.kind, 0))) if progress else None,
        workers_per_file=workers,
    )
    seconds = time.monotonic() - started
    loader_cpu = _children_cpu_seconds() - cpu_before
    load_average = [round(x, 2) for x in os.getloadavg()]
    by_file: dict[str, LoadReport] = {r.file: r for r in reports}
    rate = persons / seconds
    baseline_rate = persons / baseline_seconds
    measured_floor: dict[str, Any] | None = None
    if floor:
        from juki.tools.bench.load_floor import export_rows, floor_seconds

        exported = work_dir / "load-floor"
        try:
            export_rows(db, exported)
            measured_floor = floor_seconds(db, exported)
        finally:
            shutil.rmtree(exported, ignore_errors=True)
        measured_floor["ratio_baseline_to_floor"] = round(baseline_seconds / measured_floor["seconds"], 3)
        measured_floor["ratio_floor_to_ours"] = round(measured_floor["seconds"] / seconds, 3)
    return {
        "benchmark": "load",
        "persons": persons,
        "seed": seed,
        "seconds": round(seconds, 2),
        "rate_per_s": round(rate, 1),
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "files": {name: r.__dict__ for name, r in by_file.items()},
        "workers_per_file": workers,
        # CPU of the loader processes (not of PostgreSQL): unlike seconds, it barely moves when other
        # work shares the machine, so runs under different load averages stay comparable.
        "loader_cpu_seconds": round(loader_cpu, 1),
        "loader_cpu_us_per_person": round(loader_cpu / persons * 1e6, 1),
        "load_average": load_average,
        "peak_rss_mib": peak_rss_mib(),
        # The best ratio any loader could reach in this schema is floor.ratio_baseline_to_floor.
        "floor": measured_floor,
        "target": {"seconds_for_10m": 600, "ratio": 0.5},
        "machine": machine(),
    }


def bench_update(
    db: Database,
    work_dir: Path,
    persons: int,
    seed: int,
    notifications: int,
    batch: int = 500,
    progress: Callable[[str, int], None] | None = None,
    *,
    invalid_share: float = 0.0,
) -> dict[str, Any]:
    """Notifications/s of accepted, committed changes through the full ledger.

    The stream is drawn from the persons stored now (:func:`~juki.tools.bench.streams.fitting_stream`),
    with a stream number no earlier run used: a second run in the same database measures new work.
    ``rate_per_s`` counts accepted notifications only; a run whose accepted count falls below 95 % of
    what the stream intended raises :class:`~juki.tools.bench.streams.BenchmarkInvalid`.
    """
    from juki.tools.bench.streams import fitting_stream, require_work, stored_persons

    loaded = stored_persons(db)
    if loaded < persons:
        bench_load(db, work_dir, persons, seed, progress)
        loaded = stored_persons(db)
    drawn = fitting_stream(db, seed, notifications, invalid_share=invalid_share)
    lines = drawn.lines
    # Baseline: a bare INSERT of the same rows, same batch size, one commit per batch.
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.bench_plain_notifications")
        conn.execute("CREATE TABLE public.bench_plain_notifications (line_no int, payload jsonb)")
    started = time.monotonic()
    with db.connect() as conn:
        for start in range(0, len(lines), batch):
            chunk = lines[start : start + batch]
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO public.bench_plain_notifications VALUES (%s, %s)",
                    [(n, Jsonb(_json_or_text(raw))) for n, raw in chunk],
                )
            conn.commit()
    baseline_seconds = time.monotonic() - started
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE public.bench_plain_notifications")
    measured = apply_stream(db, lines, batch, progress)
    require_work("update", measured.outcomes, drawn.intended_accepted, len(lines))
    seconds = measured.seconds
    latencies = measured.latencies
    rate = measured.summary.accepted / seconds
    baseline_rate = len(lines) / baseline_seconds
    return {
        "benchmark": "update",
        "persons": loaded,
        "seed": seed,
        "stream": drawn.stream,
        "drawn_from": f"current file: {drawn.sample:,} stored persons sampled",
        "notifications": len(lines),
        "accepted": measured.summary.accepted,
        "duplicate": measured.summary.duplicate,
        "rejected": measured.summary.rejected,
        "outcomes": dict(measured.outcomes),
        "intended": dict(drawn.intended),
        "batch_size": batch,
        "seconds": round(seconds, 2),
        "rate_per_s": round(rate, 1),
        "rate_counts": "accepted and committed notifications",
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "batch_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "batch_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1)
        if latencies
        else None,
        "peak_rss_mib": peak_rss_mib(),
        "target": {"rate_per_s": 2000},
        "machine": machine(),
    }


def _json_or_text(raw: bytes) -> object:
    """The baseline stores every line as jsonb: a line that is no JSON goes in as a JSON string."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


@dataclass
class AppliedStream:
    summary: Summary
    outcomes: Counter[str]
    seconds: float
    latencies: list[float]


def apply_stream(
    db: Database,
    lines: list[tuple[int, bytes]],
    batch: int,
    progress: Callable[[str, int], None] | None = None,
) -> AppliedStream:
    """The full service on ``lines``, in batches of ``batch`` (one commit each), timed."""
    summary = Summary()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        connections = {spec.kind: stack.enter_context(db.connect(spec.db_role)) for spec in all_files()}
        applier = NotificationApplier(
            connections,
            check_digit_mode=db.settings.juminhyo_check_digit,
            lg_table=db.settings.lg_table,
            batch_size=batch,
        )
        for start in range(0, len(lines), batch):
            t0 = time.monotonic()
            for result in applier.apply(lines[start : start + batch], source="bench"):
                summary.add(result)
                outcomes[result.error_code or result.status] += 1
            latencies.append(time.monotonic() - t0)
            if progress:
                progress("update", start + batch)
    seconds = time.monotonic() - started
    latencies.sort()
    return AppliedStream(summary, outcomes, seconds, latencies)


# ------------------------------------------------------------------------ reconcile (F1-7, S-53)

#: The municipality of the reconciliation benchmark: 横浜市, a designated city (its 18 wards).
RECONCILE_CITY = "141003"


def _reconcile_population(db: Database, persons: int, others: int, ended: int) -> None:
    """N present persons of 横浜市 (spread over its wards), ``others`` of 鎌倉市 and ``ended`` ended
    persons of 横浜市, inserted by PostgreSQL itself (generate_series) with the indexes deferred."""
    from juki.domain.lgcodes import for_prefecture
    from juki.services.registry.reconciliation import municipality_scope
    from juki.store.copy import deferred_indexes

    wards = list(municipality_scope(RECONCILE_CITY))
    ward_names = [for_prefecture("14").name_of(code) for code in wards]  # the scenario is 横浜市's
    families = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林"]
    families_kana = [
        "ヤマダ",
        "サトウ",
        "スズキ",
        "タカハシ",
        "タナカ",
        "イトウ",
        "ワタナベ",
        "ヤマモト",
        "ナカムラ",
        "コバヤシ",
    ]
    given = ["太郎", "花子", "一郎", "美咲", "健太", "陽菜", "大翔", "結衣", "蓮", "葵"]
    given_kana = [
        "タロウ",
        "ハナコ",
        "イチロウ",
        "ミサキ",
        "ケンタ",
        "ヒナ",
        "ヒロト",
        "ユイ",
        "レン",
        "アオイ",
    ]
    with db.connect() as conn:
        with deferred_indexes(conn, PREF.schema, PREF.current_table):
            conn.execute(
                f"""INSERT INTO {PREF.current} (juminhyo_code, name_kanji, name_kana, birth_date, sex,
                     address, my_number, change_reason, change_date, seion_kana, municipality_code, aza_code,
                     operator_id, terminal_id, notified_on, update_seq, status, end_kind, deleted_flag)
                   SELECT lpad(i::text, 11, '0'),
                          (%(fam)s::text[])[1 + i %% 10] || '　' || (%(giv)s::text[])[1 + (i / 10) %% 10],
                          (%(famk)s::text[])[1 + i %% 10] || '　' || (%(givk)s::text[])[1 + (i / 10) %% 10],
                          to_char(date '1930-01-01' + ((i::bigint * 7919) %% 33000)::int, 'YYYY-MM-DD'),
                          (1 + i %% 2)::text,
                          '神奈川県' || (%(wname)s::text[])[1 + i %% %(nw)s] || '本町' || (1 + i %% 9)
                            || '丁目' || (1 + i %% 40) || '番' || (1 + i %% 25) || '号',
                          lpad((100000000000 + i)::text, 12, '0'),
                          'birth', '2000-01-01',
                          (%(famk)s::text[])[1 + i %% 10] || (%(givk)s::text[])[1 + (i / 10) %% 10],
                          CASE WHEN i > %(n)s AND i <= %(n)s + %(others)s THEN '142042'
                               ELSE (%(wcode)s::text[])[1 + i %% %(nw)s] END,
                          lpad((1 + i %% 50)::text, 7, '0'),
                          'bench', 'bench', date '2000-01-01', i,
                          CASE WHEN i > %(n)s + %(others)s THEN 'ended' ELSE 'present' END,
                          CASE WHEN i > %(n)s + %(others)s THEN 'removed' END,
                          i > %(n)s + %(others)s
                     FROM generate_series(1, %(n)s + %(others)s + %(ended)s) AS i""",
                {
                    "fam": families,
                    "giv": given,
                    "famk": families_kana,
                    "givk": given_kana,
                    "wname": ward_names,
                    "wcode": wards,
                    "nw": len(wards),
                    "n": persons,
                    "others": others,
                    "ended": ended,
                },
            )
        conn.commit()
    with db.connect(autocommit=True) as conn:
        conn.execute(f"ANALYZE {PREF.current}")


def _reconcile_upload(db: Database, path: Path, persons: int, changed_every: int, dropped_every: int) -> int:
    """Export the municipality's upload from the file with deliberate differences: every
    ``changed_every``-th person's address differs, every ``dropped_every``-th is left out, and some
    persons unknown to the server are added. Returns how many were added."""
    from juki.services.registry.reconciliation import municipality_scope, upload_columns

    added = max(1, persons // 50_000)
    wards = ",".join(municipality_scope(RECONCILE_CITY))  # validated 6-digit codes
    cols = ",".join(upload_columns(PREF.kind))
    query = f"""COPY (
        SELECT juminhyo_code, name_kanji, name_kana, birth_date, sex,
               CASE WHEN juminhyo_code::bigint % {changed_every} = 0 THEN address || '－２'
                    ELSE address END AS address,
               municipality_code, aza_code, coalesce(my_number, '') AS my_number,
               former_surname_kanji, former_surname_kana
          FROM {PREF.current}
         WHERE status = 'present' AND municipality_code = ANY('{{{wards}}}'::text[])
           AND juminhyo_code::bigint % {dropped_every} <> 0
        UNION ALL
        SELECT lpad((90000000000 + g)::text, 11, '0'), '新規　花子', 'シンキ　ハナコ', '2020-01-01', '2',
               '神奈川県横浜市鶴見区本町1丁目1番1号', '141011', '0000001', '', '', ''
          FROM generate_series(1, {added}) AS g
    ) TO STDOUT (FORMAT csv, HEADER true)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        db.connect() as conn,
        conn.cursor() as cur,
        open(path, "wb") as out,
        cur.copy(query) as copy,
    ):
        for data in copy:
            out.write(data)
    with open(path, "rb") as handle:
        header = handle.readline().decode().strip()
    if header != cols:
        raise RuntimeError(f"benchmark upload header {header!r} != {cols!r}")
    return added


def bench_reconcile(
    db: Database, work_dir: Path, persons: int, progress: Callable[[str, int], None] | None = None
) -> dict[str, Any]:
    """`juki bench reconcile`: 横浜市 with ``persons`` present persons compared in one run (F1-7).

    The database (dropped and recreated) gets the persons straight from generate_series, plus 鎌倉市
    persons (a tenth) and ended 横浜市 persons that must not count. The upload is exported from them
    with known differences. Baseline: a plain COPY of the same upload CSV into an index-free text
    table, in the same run. Ours: the whole service as the municipal CS would call it — stream, COPY
    into the TEMP table, unique index, FULL OUTER JOIN, differences kept — on the pref role.
    """

    changed_every, dropped_every = 10_007, 20_011
    others, ended = persons // 10, max(1, persons // 1000)
    reset_database(db)
    started = time.monotonic()
    _reconcile_population(db, persons, others, ended)
    path = work_dir / f"reconcile-{persons}.csv"
    added = _reconcile_upload(db, path, persons, changed_every, dropped_every)
    setup_seconds = time.monotonic() - started
    if progress:
        progress("setup", persons)
    timed = _timed_reconcile(db, path, RECONCILE_CITY, progress)
    info, seconds, baseline_seconds = timed.info, timed.seconds, timed.baseline_seconds
    expected = {
        "missing_on_server": added,
        "missing_on_municipal": persons // dropped_every,
        "different": persons // changed_every - persons // (changed_every * dropped_every),
    }
    counts = info.counts or {}
    rate = persons / seconds
    baseline_rate = persons / baseline_seconds
    return {
        "benchmark": "reconcile",
        "persons": persons,
        "municipality_code": RECONCILE_CITY,
        "wards": len(info.scope_codes),
        "other_persons_in_file": others + ended,
        "upload_rows": info.uploaded_rows,
        "upload_mib": round(path.stat().st_size / 2**20, 1),
        "run_id": info.run_id,
        "counts": counts,
        "expected": expected,
        "correct": all(counts.get(k) == v for k, v in expected.items()),
        "seconds": round(seconds, 2),
        "phases_seconds": timed.phases,
        "rate_per_s": round(rate, 1),
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "setup_seconds": round(setup_seconds, 2),
        "peak_rss_mib": peak_rss_mib(),
        "target": {"seconds_for_3_7m": 120},
        "machine": machine(),
    }


def bench_reconcile_loaded(
    db: Database,
    work_dir: Path,
    city: str = RECONCILE_CITY,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Reconciliation (F1-7) on the database as it is loaded (`juki bench all`), not a fresh one.

    The upload is exported from the stored present persons of ``city`` (横浜市's wards by default)
    with the same deliberate differences as :func:`bench_reconcile`; the expected counts are counted
    by SQL on the same rows, so the result is checked, whatever population is loaded. Reconciliation
    only reads the file (its differences go to the run's own tables), so the later benchmarks of the
    suite are unaffected.
    """
    from juki.services.registry.reconciliation import municipality_scope

    changed_every, dropped_every = 10_007, 20_011
    scope = list(municipality_scope(city))
    with db.connect() as conn:
        row = conn.execute(
            f"""SELECT count(*),
                       count(*) FILTER (WHERE juminhyo_code::bigint %% {dropped_every} = 0),
                       count(*) FILTER (WHERE juminhyo_code::bigint %% {changed_every} = 0
                                          AND juminhyo_code::bigint %% {dropped_every} <> 0)
                  FROM {PREF.current}
                 WHERE status = 'present' AND municipality_code = ANY(%s)""",
            (scope,),
        ).fetchone()
    persons, dropped, changed = (int(v) for v in row) if row else (0, 0, 0)
    if persons == 0:
        raise RuntimeError(f"reconcile: no present person of {city} is stored; load a population first")
    path = work_dir / f"reconcile-loaded-{city}.csv"
    added = _reconcile_upload(db, path, persons, changed_every, dropped_every)
    with db.connect() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM generate_series(1, %s) AS g JOIN {PREF.current} AS c"
            " ON c.juminhyo_code = lpad((90000000000 + g)::text, 11, '0')"
            " AND c.status = 'present' AND c.municipality_code = ANY(%s)",
            (added, scope),
        ).fetchone()
    already = int(row[0]) if row else 0
    timed = _timed_reconcile(db, path, city, progress)
    info, seconds, baseline_seconds = timed.info, timed.seconds, timed.baseline_seconds
    expected = {
        "missing_on_server": added - already,
        "missing_on_municipal": dropped,
        "different": changed + already,
    }
    counts = info.counts or {}
    correct = all(counts.get(k, 0) == v for k, v in expected.items())
    if not correct:
        raise RuntimeError(f"reconcile: found {counts}, expected {expected}: no figure is reported")
    rate = persons / seconds
    baseline_rate = persons / baseline_seconds
    return {
        "benchmark": "reconcile",
        "persons": persons,
        "municipality_code": city,
        "wards": len(info.scope_codes),
        "upload_rows": info.uploaded_rows,
        "upload_mib": round(path.stat().st_size / 2**20, 1),
        "run_id": info.run_id,
        "counts": counts,
        "expected": expected,
        "correct": correct,
        "seconds": round(seconds, 2),
        "phases_seconds": timed.phases,
        "rate_per_s": round(rate, 1),
        "rate_counts": "present persons of the municipality compared",
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rate_per_s": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "peak_rss_mib": peak_rss_mib(),
        "target": {"seconds_for_3_7m": 120},
        "machine": machine(),
    }


@dataclass
class _TimedReconcile:
    info: Any  # reconciliation.RunInfo
    seconds: float
    baseline_seconds: float
    phases: dict[str, float]


def _timed_reconcile(
    db: Database, path: Path, city: str, progress: Callable[[str, int], None] | None
) -> _TimedReconcile:
    """One reconciliation of ``path`` for ``city`` through the service, and its same-run baseline: a
    plain COPY of the same CSV into an index-free table of text columns."""
    from juki.services.registry.reconciliation import iter_file, reconcile, upload_columns

    with db.connect(autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_baseline CASCADE")
        conn.execute("CREATE SCHEMA bench_baseline")
        conn.execute(
            "CREATE TABLE bench_baseline.reconcile_upload ("
            + ", ".join(f"{c} text" for c in upload_columns(PREF.kind))
            + ")"
        )
    started = time.monotonic()
    with db.connect() as conn:
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_baseline.reconcile_upload FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            for chunk in iter_file(path):
                copy.write(chunk)
        conn.commit()
    baseline_seconds = time.monotonic() - started
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP SCHEMA bench_baseline CASCADE")
    phases: dict[str, float] = {}
    started = time.monotonic()
    with db.connect(PREF.db_role) as conn:
        info = reconcile(
            conn,
            PREF.kind,
            city,
            iter_file(path),
            requested_by="bench",
            progress=(lambda n: progress("reconcile-kb", n // 1000)) if progress else None,
            timings=phases,
        )
    return _TimedReconcile(info, time.monotonic() - started, baseline_seconds, phases)
