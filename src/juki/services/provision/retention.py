"""The provision package's rows of the retention table (services/operations/retention.py).

The retention job calls ``(conn, today)`` with the file's role, or ``(db, today)`` for files. Kept here:

* provision records, seven years (R-08): `records.purge_expired`, and below it the database's own
  guard against its clock;
* bulk jobs and their exchange records (S-23, REC-3), seven years from the job's end, like the
  provision records they stand beside (a provision record names its ``bulk_job_id``): the database
  function ``<file>.purge_bulk_records`` (migration 0051), which never deletes what the server's own
  clock says is younger, nor a job still waiting or running;
* the server's result files (``<JUKI_DATA_DIR>/provision/results/<file>/``), JUKI_BULK_RESULT_KEEP_DAYS
  (default 30) after they were written: long enough to download, fetch or write to a medium, and then
  gone — a File 2 result may carry a 個人番号 (R-05: under a year);
* the line-linkage folders (S-33: ``result/`` and the sent/refused copies under ``request/``), the same
  period. The folders are on the requester's side, which the server may not reach (decision 48), so the
  agent runs :func:`purge_line_folder` on every pass; a folder on the server's own machine (the SIM-5
  simulator, a co-located agent) is listed in JUKI_LINE_FOLDERS and swept by the one purge job too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.provision import records
from juki.services.provision.bulk.results import result_directory
from juki.store.db import Database

__all__ = [
    "DEFAULT_RESULT_KEEP_DAYS",
    "expired_files",
    "line_folders",
    "purge_fuhyo_bulk",
    "purge_fuhyo_records",
    "purge_line_folder",
    "purge_line_folders",
    "purge_pref_bulk",
    "purge_pref_records",
    "purge_result_files",
    "result_keep_days",
]

#: Days a bulk result file is kept on the server and in a line folder (JUKI_BULK_RESULT_KEEP_DAYS).
DEFAULT_RESULT_KEEP_DAYS: Final = 30
_JST: Final = ZoneInfo("Asia/Tokyo")


def purge_pref_records(conn: psycopg.Connection[Any], today: date) -> int:
    """R-08: File 1's provision and transfer records past seven years."""
    return records.purge_expired(conn, FileKind.PREF, today)


def purge_fuhyo_records(conn: psycopg.Connection[Any], today: date) -> int:
    """R-08: File 2's provision and transfer records past seven years."""
    return records.purge_expired(conn, FileKind.FUHYO, today)


def _purge_bulk(conn: psycopg.Connection[Any], file: FileKind, today: date) -> int:
    schema = sql.Identifier(file_spec(file).schema)
    row = conn.execute(sql.SQL("SELECT {}.purge_bulk_records(%s)").format(schema), (today,)).fetchone()
    return int(row[0]) if row else 0


def purge_pref_bulk(conn: psycopg.Connection[Any], today: date) -> int:
    """S-23, REC-3: File 1's finished bulk jobs and their exchange records past seven years."""
    return _purge_bulk(conn, FileKind.PREF, today)


def purge_fuhyo_bulk(conn: psycopg.Connection[Any], today: date) -> int:
    """S-23, REC-3: File 2's finished bulk jobs and their exchange records past seven years."""
    return _purge_bulk(conn, FileKind.FUHYO, today)


def result_keep_days(env: Mapping[str, str] | None = None) -> int:
    """JUKI_BULK_RESULT_KEEP_DAYS (default 30); read here, not in Settings, like the backup periods."""
    values = os.environ if env is None else env
    days = int(values.get("JUKI_BULK_RESULT_KEEP_DAYS", str(DEFAULT_RESULT_KEEP_DAYS)))
    # a File 2 result may carry a 個人番号, which must not be kept a year.
    return max(1, min(days, 364))


def _written_on(path: Path) -> date:
    """The day (Japan time) a file was last written: a result is never rewritten after it is published."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone(_JST).date()


def expired_files(paths: Iterable[Path], today: date, keep_days: int) -> list[Path]:
    """The files whose period ended by ``today``: written on day D, gone from D + keep_days on."""
    limit = timedelta(days=keep_days)
    return [p for p in paths if p.is_file() and _written_on(p) + limit <= today]


def _unlink(paths: Iterable[Path]) -> int:
    removed = 0
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def purge_result_files(db: Database, today: date) -> int:
    """The server's bulk result files (and partial files a crash left) past their period."""
    keep = result_keep_days()
    root = result_directory(db.settings)
    removed = 0
    for file in FileKind:
        folder = root / file.value
        if folder.is_dir():
            removed += _unlink(expired_files(folder.glob("result-*.csv*"), today, keep))
    return removed


def purge_line_folder(folder: Path, today: date, keep_days: int | None = None) -> int:
    """One line-linkage folder: finished results and error notes in ``result/``, and the sent or
    refused request copies under ``request/``. A ``.waiting.json`` (a job not yet answered) is kept:
    the agent still needs it to fetch the result."""
    keep = result_keep_days() if keep_days is None else keep_days
    candidates: list[Path] = []
    results = folder / "result"
    if results.is_dir():
        candidates += [p for p in results.iterdir() if not p.name.endswith(".waiting.json")]
    for sub in (".sent", ".refused"):
        copies = folder / "request" / sub
        if copies.is_dir():
            candidates += list(copies.iterdir())
    return _unlink(expired_files(candidates, today, keep))


def line_folders(env: Mapping[str, str] | None = None) -> list[Path]:
    """JUKI_LINE_FOLDERS: line-linkage folders on this machine (os.pathsep-separated), for the purge job."""
    values = os.environ if env is None else env
    return [Path(p) for p in values.get("JUKI_LINE_FOLDERS", "").split(os.pathsep) if p.strip()]


def purge_line_folders(db: Database, today: date) -> int:
    """The line-linkage folders on this machine (JUKI_LINE_FOLDERS); the agent purges its own too."""
    del db  # files only; the signature is the retention table's (db, today)
    return sum(purge_line_folder(folder, today) for folder in line_folders())
