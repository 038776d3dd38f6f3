"""The scheduled jobs, defined once (issue 13 item 2; REQUIREMENTS Q-09, S-19, S-46, S-51, S-53).

Both the embedded scheduler (APScheduler, inside `juki serve-terminal` / `juki demo`) and the systemd
unit generator (`juki jobs systemd`) read this list, so a job's schedule cannot differ between the
two. A job's function is named by dotted path and imported only when it runs: this module stays a
table of data, and a job whose module fails to import fails that run (recorded), not the scheduler.

`cron` is the five-field form (minute hour day month weekday, UTC) that both APScheduler's
`CronTrigger.from_crontab` and the generator's `OnCalendar=` translation read. Weekdays are written
as names (``mon``): APScheduler 3 reads a weekday *number* with 0 = Monday, cron and systemd with
0 = Sunday, so a number would mean different days to the two schedulers. `period` is the
longest normal gap between two runs; a job with no successful run within `period × GRACE` is
flagged as missed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from juki.services.operations.context import JobContext

JobFunction = Callable[[JobContext], Mapping[str, object]]

#: A run is missed when none succeeded within this many periods (one late run is not an alarm).
GRACE: Final = 1.5


@dataclass(frozen=True)
class JobDefinition:
    """One scheduled job."""

    name: str
    label: str  # Japanese, for the administration page
    cron: str  # minute hour day month weekday (UTC)
    period: timedelta
    function: str  # "package.module:function", taking a JobContext, returning figures
    requirement: str

    def resolve(self) -> JobFunction:
        module_name, _, attribute = self.function.partition(":")
        function: JobFunction = getattr(importlib.import_module(module_name), attribute)
        return function

    @property
    def deadline(self) -> timedelta:
        """No successful run for this long: missed."""
        return self.period * GRACE


_JOBS = "juki.services.operations.jobs"

JOBS: Final[tuple[JobDefinition, ...]] = (
    JobDefinition(
        "audit_checkpoint",
        "操作ログの署名付きチェックポイント",
        "5 * * * *",
        timedelta(hours=1),
        f"{_JOBS}:audit_checkpoint",
        "S-20",
    ),
    JobDefinition(
        "retention_purge",
        "保存期間を過ぎた記録の消去（保存期間表）",
        "30 2 * * *",
        timedelta(days=1),
        f"{_JOBS}:retention_purge",
        "R-04, R-06, S-51",
    ),
    JobDefinition(
        "my_number_purge",
        "一時保存の個人番号の消去",
        "20 * * * *",
        timedelta(hours=1),
        f"{_JOBS}:my_number_purge",
        "R-05, R-06",
    ),
    JobDefinition(
        "crl_renewal",
        "失効リスト（CRL）の更新（有効期限の2日前から）",
        "0 3 * * *",
        timedelta(days=1),
        f"{_JOBS}:crl_renewal",
        "S-44",
    ),
    JobDefinition(
        "reconciliation_requests",
        "市町村CSへの定期的な整合性確認の要求",
        "0 6 * * mon",
        timedelta(days=7),
        f"{_JOBS}:reconciliation_requests",
        "S-53",
    ),
    JobDefinition(
        "backup",
        "暗号化バックアップ（全体・操作ログ）",
        "0 1 * * *",
        timedelta(days=1),
        f"{_JOBS}:backup",
        "S-46, S-19, R-09, REC-9",
    ),
)


def job_named(name: str) -> JobDefinition:
    """The job of that name; KeyError for an unknown one (callers turn it into E_JOB_UNKNOWN)."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)
