"""The functions of the scheduled jobs (definitions.py names them); each returns its figures.

Each takes a `JobContext` and uses ``ctx.now``, never the clock, for what it decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from juki.files import FUHYO, all_files
from juki.services.access.pki import Pki
from juki.services.audit.checkpoints import CheckpointRefused, audit_dir, create_checkpoint
from juki.services.operations import backup as backups
from juki.services.operations import retention
from juki.services.operations.context import JobContext, JobFailed
from juki.services.operations.definitions import job_named
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.registry.reconciliation_requests import ask_in_turn, requests_per_run, survey
from juki.store.db import DbRole

#: Renew the CRL when it expires within this many days; a new one is valid CRL_DAYS (Pki.renew_crl).
CRL_RENEW_BEFORE_DAYS: Final = 2.0
CRL_DAYS: Final = 7


def audit_checkpoint(ctx: JobContext) -> Mapping[str, object]:
    folder = audit_dir(ctx.settings)
    with ctx.db.connect() as conn:
        try:
            checkpoint = create_checkpoint(conn, folder, folder, now=ctx.now)
        except CheckpointRefused as refused:
            raise JobFailed("E_JOB_FAILED", ",".join(sorted({f.code for f in refused.findings}))) from None
    return {"tree_size": checkpoint.tree_size, "last_seq": checkpoint.last_seq}


def retention_purge(ctx: JobContext) -> Mapping[str, object]:
    report = retention.purge_all(ctx.db, ctx.now.date())
    failed = [kind for kind, value in report.items() if isinstance(value, str)]
    if failed:
        raise JobFailed("E_JOB_FAILED", ",".join(failed), report)
    return report


def my_number_purge(ctx: JobContext) -> Mapping[str, object]:
    with ctx.db.connect(FUHYO.db_role) as conn:
        removed = conn.execute(
            "DELETE FROM fuhyo_tmp.my_number_stash WHERE expires_at <= %s", (ctx.now,)
        ).rowcount
        conn.commit()
    return {"purged": removed}


def crl_renewal(ctx: JobContext) -> Mapping[str, object]:
    """Renew well before nextUpdate; running servers load the new CRL within
    JUKI_CRL_RELOAD_SECONDS (ReloadingServerContext, architecture note 27) — no restart."""
    pki = Pki(ctx.settings.pki_directory, prefecture=ctx.settings.prefecture)
    if not pki.exists():
        return {"skipped": "no_pki"}
    path = pki.renew_crl(CRL_RENEW_BEFORE_DAYS, CRL_DAYS)
    next_update = pki.crl_next_update()
    return {"renewed": path is not None, "next_update": next_update.isoformat() if next_update else None}


def reconciliation_requests(ctx: JobContext) -> Mapping[str, object]:
    """S-53 "定期的": ask the next municipalities in turn for a consistency check, per file, and
    report what came back since the previous run — answers with their differences, uploads that
    failed — and the requests still open. A request past its due date fails the run
    (E_RECON_REQUEST_OVERDUE, with all the figures kept), so the jobs page and /metrics flag it."""
    job = job_named("reconciliation_requests")
    codes = list(ctx.settings.lg_table.resident_register_codes_on(ctx.now.date()))
    per_run = requests_per_run(len(codes), job.period)
    with ctx.db.connect(DbRole.TERM) as conn:
        row = conn.execute(
            "SELECT max(started_at) FROM term.job_runs WHERE job = %s AND started_at < %s",
            (job.name, ctx.now),
        ).fetchone()
    since = row[0] if row else None
    figures: dict[str, object] = {"per_run": per_run}
    overdue: list[str] = []
    for spec in all_files():
        with ctx.db.connect(spec.db_role) as conn:
            found = survey(conn, spec, ctx.now, since)
            found.asked = ask_in_turn(conn, spec, ctx.now, per_run, codes, ctx.run_id)
            found.open += len(found.asked)
            conn.commit()
        figures[spec.kind.value] = found.figures()
        overdue += [f"{spec.kind.value}:{code}" for code in found.overdue]
    if overdue:
        raise JobFailed("E_RECON_REQUEST_OVERDUE", ",".join(overdue), figures)
    return figures


def backup(ctx: JobContext) -> Mapping[str, object]:
    ops = OperationsSettings.for_settings(ctx.settings)
    full = backups.create_backup(ctx.db, ctx.settings, ops, kind="full", now=ctx.now)
    oplog = backups.create_backup(ctx.db, ctx.settings, ops, kind="oplog", now=ctx.now)
    return {"full": full.figures(), "oplog": oplog.figures()}
