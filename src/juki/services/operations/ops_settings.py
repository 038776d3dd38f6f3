"""The settings of backups and retention periods, read from the environment once.

Kept beside the operations services rather than in `juki.config.Settings` so that adding them does
not touch the shared settings class; like it, the rest of the code takes a value, never the
environment (tests build their own).

- JUKI_BACKUP_DIR: where encrypted backups are written (default ``<data_dir>/backups``) — the
  directory the contractor copies to media; it never holds a plaintext byte.
- JUKI_BACKUP_RECIPIENTS: a file of age recipients (``age1…``, one a line, ``#`` comments), default
  ``<data_dir>/keys/backup/recipients.txt`` as written by `juki backup keygen`.
- JUKI_BACKUP_IDENTITY: the age identity that decrypts (default
  ``<data_dir>/keys/backup/identity.age``); on a real system keep it off the machine that writes.
- JUKI_BACKUP_KEEP_DAYS (30): full backups are deleted after this many days — they hold the
  temporary 個人番号 and every purged record as they were, so they must not outlive those periods
  by much (R-05, R-06).
- JUKI_OPLOG_KEEP_DAYS (2557 = 7 years): backed-up operation logs and their checkpoints (R-09,
  S-19), as long as the provision records whose use they show (R-08).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from juki.config import Settings


@dataclass(frozen=True)
class OperationsSettings:
    backup_dir: Path
    recipients_file: Path
    identity_file: Path
    backup_keep_days: int = 30
    oplog_keep_days: int = 2557

    @classmethod
    def for_settings(cls, settings: Settings, env: dict[str, str] | None = None) -> OperationsSettings:
        values = dict(os.environ) if env is None else env
        keys = settings.data_dir / "keys" / "backup"
        return cls(
            backup_dir=Path(values.get("JUKI_BACKUP_DIR") or settings.data_dir / "backups").resolve(),
            recipients_file=Path(values.get("JUKI_BACKUP_RECIPIENTS") or keys / "recipients.txt").resolve(),
            identity_file=Path(values.get("JUKI_BACKUP_IDENTITY") or keys / "identity.age").resolve(),
            backup_keep_days=int(values.get("JUKI_BACKUP_KEEP_DAYS", "30")),
            oplog_keep_days=int(values.get("JUKI_OPLOG_KEEP_DAYS", "2557")),
        )
