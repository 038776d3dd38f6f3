"""The functions of the scheduled jobs (definitions.py names them); each returns its figures.

Each takes a `JobContext` and uses ``ctx.now``, never the clock, for what it decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final

from juki.files import FUHYO, all_files
from juki.services.access.pki import Pki
from juki.services.audit.checkpoints import CheckpointRefused, audit_dir, create_checkpoint
from juki.services.operations import backup as backups
from juki.services.operations import retention
from juki.services.operations.context import JobContext, JobFailed
from juki.services.operations.ops_settings import OperationsSettings

#: Renew the CRL when it expires within this many days; a new one is valid CRL_DAYS (Pki.renew_crl).
CRL_RENEW_BEFORE_DAYS: Final = 2.0
CRL_DAYS: Final = 7
#: A municipality with no completed consistency check for this long is asked for one (S-53).
RECONCILIATION_INTERVAL: Final = timedelta(days=30)


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
        raise JobFailed("E_JOB_FAILED", ",".join(failed))
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
    """S-53 "定期的": the municipalities whose last completed consistency check is older than the
    interval, per file. They are recorded in the run's figures (codes of municipalities only);
    there is no channel to push a request to a 市町村CS yet, so the list is what an operator sends."""
    codes = list(ctx.settings.lg_table.resident_register_codes_on(ctx.now.date()))
    cutoff = ctx.now - RECONCILIATION_INTERVAL
    figures: dict[str, object] = {}
    for spec in all_files():
        with ctx.db.connect(spec.db_role) as conn:
            due = [
                str(r[0])
                for r in conn.execute(
                    "SELECT c FROM unnest(%s::text[]) c WHERE NOT EXISTS"
                    f" (SELECT 1 FROM {spec.reconciliation_run} r WHERE r.status = 'completed'"
                    " AND r.finished_at >= %s AND c = ANY(r.scope_codes)) ORDER BY c",
                    (codes, cutoff),
                ).fetchall()
            ]
        figures[f"{spec.kind.value}_due"] = len(due)
        figures[f"{spec.kind.value}_due_codes"] = due
    return figures


def backup(ctx: JobContext) -> Mapping[str, object]:
    ops = OperationsSettings.for_settings(ctx.settings)
    full = backups.create_backup(ctx.db, ctx.settings, ops, kind="full", now=ctx.now)
    oplog = backups.create_backup(ctx.db, ctx.settings, ops, kind="oplog", now=ctx.now)
    return {"full": full.figures(), "oplog": oplog.figures()}
