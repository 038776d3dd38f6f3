"""The PostgreSQL floor of a bulk load (`juki bench load --floor`): how fast could *any* loader be?

`juki bench load` compares the loader with a plain COPY of the CSV files into index-free text tables.
That baseline leaves out what PostgreSQL itself must do to hold the same persons in juki's schema:
typed columns, the search keys' bytes, and the indexes the searches use. The floor measures exactly
that, in the same run: the rows the loader just stored are copied out as COPY text, the database is
emptied, and then — in the loader's own way (one process per file, TRUNCATE + COPY FREEZE in one
transaction, indexes dropped and rebuilt, ANALYZE) — the finished rows are copied back in with no
Python work at all. A loader that did its checks and keys for free would take this long; the
ratio of the plain-COPY baseline to the floor is the best ratio any loader can reach here.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import psycopg

from juki.files import FileSpec, all_files
from juki.services.registry.load import act_as_owner
from juki.store.copy import deferred_indexes
from juki.store.db import Database


def export_rows(db: Database, directory: Path) -> None:
    """Every file's current and history rows, as COPY text, one file per table."""
    directory.mkdir(parents=True, exist_ok=True)
    with db.connect() as conn, conn.cursor() as cur:
        for spec in all_files():
            for table in (spec.current, spec.history):
                with (
                    open(directory / f"{table}.copy", "wb") as out,
                    cur.copy(f"COPY {table} TO STDOUT") as copy,
                ):
                    for block in copy:
                        out.write(block)


def _load_one(conninfo: str, kind: str, directory: str, results: Any) -> None:
    """Child process: one file's finished rows back in, the loader's way; reports the seconds."""
    spec = next(s for s in all_files() if s.kind.value == kind)
    started = time.monotonic()
    with psycopg.connect(conninfo) as conn, conn.transaction():
        act_as_owner(conn, spec)
        conn.execute(f"TRUNCATE {spec.current}, {spec.history}")
        with (
            deferred_indexes(conn, spec.schema, spec.current_table),
            deferred_indexes(conn, spec.schema, spec.history_table),
            conn.cursor() as cur,
        ):
            for table in (spec.current, spec.history):
                with (
                    open(Path(directory) / f"{table}.copy", "rb") as rows,
                    cur.copy(f"COPY {table} FROM STDIN (FREEZE)") as copy,
                ):
                    while block := rows.read(1 << 20):
                        copy.write(block)
            copied = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        act_as_owner(conn, spec)
        conn.execute(f"ANALYZE {spec.current}")
        conn.execute(f"ANALYZE {spec.history}")
    done = time.monotonic()
    results.put((kind, round(copied - started, 2), round(done - copied, 2), round(done - started, 2)))


def floor_seconds(db: Database, directory: Path) -> dict[str, Any]:
    """Seconds to put the exported rows back (both files at once, as the loader runs them)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    specs: list[FileSpec] = list(all_files())
    procs = [
        ctx.Process(target=_load_one, args=(db.admin_conninfo, s.kind.value, str(directory), results))
        for s in specs
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    seconds = time.monotonic() - started
    files: dict[str, dict[str, float]] = {}
    while len(files) < len(procs) and not results.empty():
        kind, copy_s, index_s, total = results.get()
        files[kind] = {"copy_seconds": copy_s, "index_and_analyze_seconds": index_s, "seconds": total}
    if len(files) < len(procs):
        raise RuntimeError("a floor process ended without a result")
    return {"seconds": round(seconds, 2), "files": files}
