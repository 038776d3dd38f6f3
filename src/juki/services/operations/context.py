"""What a job function receives: the database, the settings and the time it runs at.

The time is injected (never read inside a job) so every time-dependent rule — a purge on the right
day, a missed run — is tested with a moved clock instead of a sleep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from juki.config import Settings
from juki.store.db import Database


@dataclass(frozen=True)
class JobContext:
    """One run's inputs. ``now`` is timezone-aware (UTC)."""

    db: Database
    settings: Settings
    now: datetime
    run_id: int | None = None  # the term.job_runs row of this run (None outside run_job)


class JobFailed(Exception):
    """A job ended without doing its work; ``code`` is a stable E_ code of domain/errors.py."""

    def __init__(self, code: str, detail: str = "", figures: Mapping[str, object] | None = None) -> None:
        self.code = code
        self.detail = detail
        self.figures = dict(figures or {})  # what the run did find before failing (kept on its row)
        super().__init__(f"{code}: {detail}" if detail else code)
