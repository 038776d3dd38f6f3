"""The backup register's weekly checklist (REC-9; Q-09 "Backup-media check: weekly").

Two items juki checks itself — every file in the backup directory is age ciphertext, and the latest
full backup has passed a restore drill within the week — and three a person confirms (the media
match the register, they are stored locked, media past retention were destroyed and recorded). One
row per week (the Monday it belongs to) in term.backup_checks; a week without one is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from juki.services.operations.ops_settings import OperationsSettings

AUTOMATIC: Final = {
    "all_encrypted": "バックアップ媒体に暗号化されていないファイルがない（自動確認）",
    "restore_verified": "直近の全体バックアップが1週間以内に復元検証に合格している（自動確認）",
}
CONFIRMED: Final = {
    "register_matches_media": "台帳のファイル名・件数と媒体の内容が一致する",
    "stored_locked": "媒体が施錠された場所に保管されている",
    "expired_destroyed": "保存期間を過ぎた媒体が消去・破棄され、台帳に記録されている",
}
_AGE_MAGIC = b"age-encryption.org/v1"


@dataclass(frozen=True)
class WeeklyCheck:
    week_of: date
    checked_at: datetime
    checked_by: str
    items: dict[str, bool]
    all_ok: bool


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def automatic_items(conn: psycopg.Connection[Any], ops: OperationsSettings, now: datetime) -> dict[str, bool]:
    encrypted = True
    if ops.backup_dir.is_dir():
        for path in ops.backup_dir.iterdir():
            if path.name.endswith(".manifest.json"):
                continue  # names and numbers only, by design
            with path.open("rb") as handle:
                encrypted = encrypted and handle.read(len(_AGE_MAGIC)) == _AGE_MAGIC
    row = conn.execute(
        "SELECT verify_outcome, verified_at FROM term.backups WHERE kind = 'full' AND purged_at IS NULL"
        " ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    verified = bool(row and row[0] == "ok" and row[1] is not None and now - row[1] <= timedelta(days=7))
    return {"all_encrypted": encrypted, "restore_verified": verified}


def record_check(
    conn: psycopg.Connection[Any],
    ops: OperationsSettings,
    now: datetime,
    by: str,
    confirmed: set[str],
    note: str = "",
) -> WeeklyCheck:
    unknown = confirmed - set(CONFIRMED)
    if unknown:
        raise ValueError(f"unknown checklist items: {sorted(unknown)}")
    items = {**automatic_items(conn, ops, now), **{key: key in confirmed for key in CONFIRMED}}
    week = week_of(now.date())
    with conn.transaction():
        conn.execute(
            "INSERT INTO term.backup_checks (week_of, checked_at, checked_by, items, all_ok, note)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (week_of) DO UPDATE SET"
            " checked_at = EXCLUDED.checked_at, checked_by = EXCLUDED.checked_by, items = EXCLUDED.items,"
            " all_ok = EXCLUDED.all_ok, note = EXCLUDED.note",
            (week, now, by, Jsonb(items), all(items.values()), note),
        )
    return WeeklyCheck(week, now, by, items, all(items.values()))


def latest_check(conn: psycopg.Connection[Any]) -> WeeklyCheck | None:
    row = conn.execute(
        "SELECT week_of, checked_at, checked_by, items, all_ok FROM term.backup_checks"
        " ORDER BY week_of DESC LIMIT 1"
    ).fetchone()
    return None if row is None else WeeklyCheck(row[0], row[1], row[2], dict(row[3]), bool(row[4]))


def check_overdue(conn: psycopg.Connection[Any], now: datetime) -> bool:
    """This week's check is missing after its Monday, or the last one found a problem."""
    latest = latest_check(conn)
    return latest is None or latest.week_of < week_of(now.date()) - timedelta(days=7) or not latest.all_ok
