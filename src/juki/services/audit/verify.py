"""`verify`: is the operation log still what was written? (REQUIREMENTS S-15, S-19, S-20)

Checks, in one streaming pass (services/audit/checkpoints.py `scan_log`): every row's hash recomputed from
its content, the chain links and gapless numbering, the chain head, every checkpoint's signature,
the Merkle root of the first tree_size rows against every checkpoint, and that the log still holds
at least as many rows as the latest checkpoint. The report lists findings with stable codes
(`checkpoint.FINDINGS`); `ok` is false as soon as one of them is an error, and the CLI then exits 1.

What it cannot see: a superuser who rewrites rows *after* the latest checkpoint and re-hashes them
leaves a consistent chain; only the next checkpoint (made before the rewrite) would catch it. Make
checkpoints often (e.g. hourly from cron) and copy the checkpoint file off the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from juki.services.audit.checkpoints import Checkpoint, Finding, check_all

__all__ = ["VerifyReport", "verify"]


@dataclass(frozen=True)
class VerifyReport:
    """The result of one verification: what was checked and what was found."""

    rows: int
    last_seq: int
    root_hex: str
    checkpoints: int
    checkpoints_checked: int
    latest_checkpoint_size: int | None
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "last_seq": self.last_seq,
            "root": self.root_hex,
            "checkpoints": self.checkpoints,
            "checkpoints_checked": self.checkpoints_checked,
            "latest_checkpoint_size": self.latest_checkpoint_size,
            "findings_total": self.findings_total,
            "findings": [f.to_dict() for f in self.findings],
        }


def _latest(checkpoints: list[Checkpoint]) -> int | None:
    return max((c.tree_size for c in checkpoints), default=None)


def verify(conn: psycopg.Connection[Any], keydir: Path, checkpoint_file: Path) -> VerifyReport:
    """Verify the log against its chain and the signed checkpoints in `checkpoint_file`.

    `keydir` needs only the public key(s) (`*.pub.pem`): an auditor verifies without being able
    to sign.
    """
    result, checkpoints = check_all(conn, keydir, checkpoint_file)
    return VerifyReport(
        rows=result.rows,
        last_seq=result.last_seq,
        root_hex=result.root.hex(),
        checkpoints=len(checkpoints),
        checkpoints_checked=result.checkpoints_checked,
        latest_checkpoint_size=_latest(checkpoints),
        findings=list(result.findings),
        findings_total=result.findings_total,
    )
