"""Monitoring: Prometheus metrics and readiness, read from the database and the files on each scrape.

Why a custom collector instead of counters incremented in the servers: intake, relay and jobs run in
separate processes (`juki serve`, `juki relay run`, systemd timers), so no one process sees every
event, and in-process counters would restart at zero with each of them. The database already
records every event (the inbox holds every notification with its result, the outbox every notice,
`term.job_runs` every job run), so the collector counts there on each scrape and nothing is kept
twice. Metrics carry counts, codes and certificate names only: never a 住民票コード or a name.

Each file's tables are read as that file's own login role (S-35: the metrics process needs no
administrator rights for them); only the migration table in `public` needs the administrator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from cryptography import x509
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg import sql

from juki.domain.errors import CATALOG
from juki.files import all_files
from juki.services.access.pki import Pki, crl_next_update
from juki.services.audit.checkpoints import CHECKPOINT_FILE, audit_dir
from juki.services.jlis.relay import file_status
from juki.store.db import Database, DbRole
from juki.store.migrate import drift

_DAY = 86400.0


def _now() -> datetime:
    return datetime.now(UTC)


def _days_until(when: datetime) -> float:
    return (when - _now()).total_seconds() / _DAY


def certificate_files(pki: Pki) -> dict[str, Path]:
    """The certificates this installation serves with or trusts: the CA and every issued/imported one."""
    found: dict[str, Path] = {}
    if pki.ca_cert_path.exists():
        found["ca"] = pki.ca_cert_path
    issued = pki.issued_dir
    if issued.is_dir():
        for path in sorted(issued.glob("*.crt")):
            found[path.stem] = path
    return found


def certificate_expiry_days(pki: Pki) -> dict[str, float]:
    """Days until each certificate's notAfter (negative once expired); unreadable files are left out."""
    out: dict[str, float] = {}
    for name, path in certificate_files(pki).items():
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        out[name] = _days_until(cert.not_valid_after_utc)
    return out


def last_checkpoint_time(directory: Path) -> datetime | None:
    """When the newest signed checkpoint of the operation log was made; None when there is none.

    Read as plain JSON lines, not verified: verification is `juki audit verify`'s job (and needs the
    database); the metric only answers "is the checkpoint job still running".
    """
    path = directory / CHECKPOINT_FILE
    newest: datetime | None = None
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for text in lines:
        try:
            value = datetime.fromisoformat(str(json.loads(text)["created_at"]))
        except (ValueError, KeyError, TypeError):
            continue
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        newest = value if newest is None or value > newest else newest
    return newest


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, and on failure a stable code and detail."""

    name: str
    ok: bool
    code: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.name, "ok": self.ok}
        if self.code is not None:
            out |= {"code": self.code, "message": CATALOG[self.code].message_ja, "detail": self.detail}
        return out


@dataclass
class Readiness:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": [c.to_dict() for c in self.checks]}


def readiness(db: Database, pki: Pki, server_certificates: Iterable[str] = ()) -> Readiness:
    """Can this installation serve: database reachable, schema at this program's version, the CA and
    the named server certificates within their validity, the CRL not past its nextUpdate (a CRL
    past nextUpdate makes every mTLS handshake fail)."""
    result = Readiness()
    try:
        # As the terminal's login role, not juki_admin: the administration port needs no migration
        # rights (migration 0050 lets it read the version list).
        with db.connect(DbRole.TERM, autocommit=True) as conn:
            result.checks.append(Check("database", True))
            versions: tuple[list[int], list[int]] | None = drift(conn)
    except psycopg.Error as exc:
        # The driver's message names host and port only; never a password (it comes from ~/.pgpass).
        result.checks.append(Check("database", False, "E_READY_DATABASE", type(exc).__name__))
        versions = None
    if versions is not None:
        missing, unknown = versions
        if missing or unknown:
            detail = f"未適用 {missing}" if missing else f"このプログラムが知らない版 {unknown}"
            result.checks.append(Check("migrations", False, "E_READY_MIGRATIONS", detail))
        else:
            result.checks.append(Check("migrations", True))
    days = certificate_expiry_days(pki)
    for name in ("ca", *server_certificates):
        if name not in days:
            result.checks.append(Check(f"certificate:{name}", False, "E_READY_CERTIFICATE", "ありません"))
        elif days[name] <= 0:
            result.checks.append(Check(f"certificate:{name}", False, "E_READY_CERTIFICATE", "期限切れ"))
        else:
            result.checks.append(Check(f"certificate:{name}", True))
    next_update = crl_next_update(pki.crl_path)
    if next_update is None:
        result.checks.append(Check("crl", False, "E_READY_CRL", "ありません"))
    elif next_update <= _now():
        result.checks.append(Check("crl", False, "E_READY_CRL", f"nextUpdate {next_update.isoformat()}"))
    else:
        result.checks.append(Check("crl", True))
    return result


class JukiCollector(Collector):
    """The `juki_*` metrics, computed from the database and the PKI / audit directories per scrape."""

    def __init__(self, db: Database, pki: Pki) -> None:
        self.db = db
        self.pki = pki

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("juki_database_up", "1 when every file's role could read its tables")
        try:
            yield from self._database_metrics()
            up.add_metric([], 1.0)
        except psycopg.Error:
            up.add_metric([], 0.0)
        yield up
        yield from self._file_metrics()

    def _database_metrics(self) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "juki_intake_notifications",
            "Notifications received from the 市町村CS, by file and result (rate() gives the intake rate)",
            labels=["file", "status"],
        )
        rejected = CounterMetricFamily(
            "juki_intake_rejections",
            "Rejected notifications by file and stable error code",
            labels=["file", "code"],
        )
        pending = GaugeMetricFamily("juki_outbox_pending", "Notices not yet delivered", labels=["file"])
        dead = GaugeMetricFamily("juki_outbox_dead_letters", "Notices given up on (redrive)", labels=["file"])
        lag = GaugeMetricFamily(
            "juki_relay_lag_seconds",
            "Age of the oldest undelivered notice (0 when none is pending)",
            labels=["file"],
        )
        for spec in all_files():
            kind = spec.kind.value
            with self.db.connect(spec.db_role, autocommit=True) as conn:
                # One pass over the inbox: status counts and rejection codes together.
                rows = conn.execute(
                    sql.SQL("SELECT status, error_code, count(*) FROM {} GROUP BY status, error_code").format(
                        sql.SQL(spec.inbox)
                    )
                ).fetchall()
            by_status: dict[str, int] = {"accepted": 0, "duplicate": 0, "rejected": 0}
            for status, code, count in rows:
                by_status[str(status)] = by_status.get(str(status), 0) + int(count)
                if status == "rejected":
                    rejected.add_metric([kind, str(code or "-")], float(count))
            for status, count in sorted(by_status.items()):
                received.add_metric([kind, status], float(count))
            relay = file_status(self.db, spec.kind)
            pending.add_metric([kind], float(relay["pending"]))
            dead.add_metric([kind], float(relay["dead"]))
            lag.add_metric([kind], float(relay["oldest_pending_age_seconds"] or 0.0))
        yield from (received, rejected, pending, dead, lag)
        yield from self._job_metrics()

    def _job_metrics(self) -> Iterator[Metric]:
        """Job outcomes from `term.job_runs` (the scheduled jobs' table); nothing before it exists."""
        runs = CounterMetricFamily(
            "juki_job_runs", "Scheduled job runs by job and outcome", labels=["job", "outcome"]
        )
        last_ok = GaugeMetricFamily(
            "juki_job_last_success_timestamp_seconds",
            "When each job last finished successfully (Unix time)",
            labels=["job"],
        )
        with self.db.connect(DbRole.TERM, autocommit=True) as conn:
            exists = conn.execute("SELECT to_regclass('term.job_runs')").fetchone()
            if exists is None or exists[0] is None:
                return
            for job, outcome, count, last in conn.execute(
                """SELECT job, outcome, count(*),
                          extract(epoch FROM max(finished_at) FILTER (WHERE outcome = 'succeeded'))
                     FROM term.job_runs GROUP BY job, outcome ORDER BY job, outcome"""
            ).fetchall():
                runs.add_metric([str(job), str(outcome)], float(count))
                if last is not None:
                    last_ok.add_metric([str(job)], float(last))
        yield runs
        yield last_ok

    def _file_metrics(self) -> Iterator[Metric]:
        certs = GaugeMetricFamily(
            "juki_certificate_expiry_days",
            "Days until the certificate's notAfter (negative when expired)",
            labels=["certificate"],
        )
        for name, days in sorted(certificate_expiry_days(self.pki).items()):
            certs.add_metric([name], days)
        yield certs
        crl = GaugeMetricFamily(
            "juki_crl_expiry_days", "Days until the CRL's nextUpdate (NaN when there is no CRL)"
        )
        next_update = crl_next_update(self.pki.crl_path)
        crl.add_metric([], math.nan if next_update is None else _days_until(next_update))
        yield crl
        age = GaugeMetricFamily(
            "juki_audit_checkpoint_age_seconds",
            "Seconds since the last signed checkpoint of the operation log (NaN when there is none)",
        )
        last = last_checkpoint_time(audit_dir(self.db.settings))
        age.add_metric([], math.nan if last is None else (_now() - last).total_seconds())
        yield age
