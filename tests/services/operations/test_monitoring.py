"""Monitoring (issue 13 item 5): the Prometheus metrics and readiness of the administration port.

Every value is scraped as Prometheus would read it (`text_string_to_metric_families`, the client
library's own parser) and compared with what the database and the PKI directory hold.
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from juki.domain.peers import PeerRole
from juki.files import all_files
from juki.interfaces.admin_api import create_admin_app
from juki.services.access.pki import Pki
from juki.services.audit.checkpoints import audit_dir, create_checkpoint
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.store.db import Database
from tests.factories import born, juminhyo, notification

JOB_RUNS = """CREATE TABLE IF NOT EXISTS term.job_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text NOT NULL, trigger text NOT NULL,
  scheduled_for timestamptz, started_at timestamptz NOT NULL, finished_at timestamptz,
  outcome text NOT NULL DEFAULT 'running', figures jsonb NOT NULL DEFAULT '{}', error_code text)"""


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def apply(db: Database, *items: dict[str, object]) -> None:
    """Apply notifications to both files, whatever their results (rejections are part of the test)."""
    with contextlib.ExitStack() as stack:
        connections = {spec.kind: stack.enter_context(db.connect(spec.db_role)) for spec in all_files()}
        applier = NotificationApplier(connections)
        list(applier.apply(iter_lines([b"\n".join(orjson.dumps(i) for i in items)]), source="test"))


@pytest.fixture
def pki(db: Database) -> Pki:
    pki = Pki(db.settings.pki_directory)
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.publish_crl(days=7)
    return pki


def test_metrics_count_intake_rejections_outbox_and_dead_letters_from_the_database(
    db: Database, pki: Pki
) -> None:
    """Issue 13 item 5: intake by result, rejections by code, outbox pending and dead letters, relay
    lag — each equal to the inbox and outbox rows of the database at the time of the scrape."""
    apply(
        db,
        born(1),
        born(2),
        born(1),  # same person again under a new id: rejected with its code
        notification("pref", "birth", "123", record={}),  # malformed code
    )
    with db.connect() as conn:
        conn.execute("UPDATE pref.outbox SET status = 'dead' WHERE juminhyo_code = %s", (juminhyo(2),))
        conn.execute("UPDATE pref.outbox SET created_at = now() - interval '90 seconds'")
        expected = dict(
            conn.execute(
                "SELECT coalesce(error_code, status), count(*) FROM pref.notification_inbox GROUP BY 1"
            ).fetchall()
        )
    client = TestClient(create_admin_app(db, pki))
    samples = scrape(client)

    assert samples[("juki_database_up", ())] == 1.0
    assert samples[("juki_intake_notifications_total", (("file", "pref"), ("status", "accepted")))] == 2
    assert samples[("juki_intake_notifications_total", (("file", "pref"), ("status", "rejected")))] == 2
    assert samples[("juki_intake_notifications_total", (("file", "fuhyo"), ("status", "accepted")))] == 0
    rejections = {
        dict(labels)["code"]: value
        for (name, labels), value in samples.items()
        if name == "juki_intake_rejections_total" and dict(labels)["file"] == "pref"
    }
    assert rejections == {code: n for code, n in expected.items() if code.startswith("E_")}
    assert len(rejections) == 2 and sum(rejections.values()) == 2
    assert samples[("juki_outbox_pending", (("file", "pref"),))] == 1
    assert samples[("juki_outbox_dead_letters", (("file", "pref"),))] == 1
    assert 89 <= samples[("juki_relay_lag_seconds", (("file", "pref"),))] < 200
    assert samples[("juki_relay_lag_seconds", (("file", "fuhyo"),))] == 0

    # A new notification shows on the next scrape: nothing is cached in the process.
    apply(db, born(3))
    later = scrape(client)
    assert later[("juki_intake_notifications_total", (("file", "pref"), ("status", "accepted")))] == 3
    assert later[("juki_outbox_pending", (("file", "pref"),))] == 2


def test_metrics_carry_no_resident_data(db: Database, pki: Pki) -> None:
    """N-H7, issue 13 item 5: monitoring gives no access to the data — the scrape after intake holds
    no 住民票コード, name or address, only counts, codes and certificate names."""
    apply(db, born(7), born(7))
    text = TestClient(create_admin_app(db, pki)).get("/metrics").text
    with db.connect() as conn:
        row = conn.execute(
            "SELECT juminhyo_code, name_kanji, name_kana, address FROM pref.identity_current"
        ).fetchone()
    assert row is not None
    for value in row:
        assert value not in text
    assert "juki_intake_rejections_total" in text


def test_job_outcomes_from_the_job_runs_table(db: Database, pki: Pki) -> None:
    """Issue 13 item 5: job outcomes and the last success per job, read from term.job_runs."""
    done = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with db.connect() as conn:
        # As migration 0038 (o-jobs) creates it: owned by juki_term_owner, readable by juki_term.
        conn.execute("SET ROLE juki_term_owner")
        conn.execute(JOB_RUNS)
        conn.execute("RESET ROLE")
        for outcome, finished, code in [
            ("succeeded", done - timedelta(days=1), None),
            ("succeeded", done, None),
            ("failed", done + timedelta(hours=1), "E_BACKUP_FAILED"),
        ]:
            conn.execute(
                """INSERT INTO term.job_runs (job, trigger, started_at, finished_at, outcome, error_code)
                   VALUES ('backup', 'systemd', %s, %s, %s, %s)""",
                (finished - timedelta(minutes=5), finished, outcome, code),
            )
    samples = scrape(TestClient(create_admin_app(db, pki)))
    assert samples[("juki_job_runs_total", (("job", "backup"), ("outcome", "succeeded")))] == 2
    assert samples[("juki_job_runs_total", (("job", "backup"), ("outcome", "failed")))] == 1
    assert samples[("juki_job_last_success_timestamp_seconds", (("job", "backup"),))] == done.timestamp()


def test_certificate_crl_and_checkpoint_ages(db: Database, pki: Pki) -> None:
    """Issue 13 item 5: days to certificate and CRL expiry, age of the last operation-log checkpoint —
    equal to the files' own notAfter / nextUpdate / created_at."""
    client = TestClient(create_admin_app(db, pki))
    before = scrape(client)
    assert math.isnan(before[("juki_audit_checkpoint_age_seconds", ())])
    crl_days = before[("juki_crl_expiry_days", ())]
    assert 6.99 < crl_days <= 7.0
    server = next(e for e in pki.list() if e["name"] == "pref-server")
    not_after = datetime.fromisoformat(server["not_after"])
    days = (not_after - datetime.now(UTC)).total_seconds() / 86400
    assert before[("juki_certificate_expiry_days", (("certificate", "pref-server"),))] == pytest.approx(
        days, abs=0.01
    )
    assert before[("juki_certificate_expiry_days", (("certificate", "ca"),))] > 3000

    folder = audit_dir(db.settings)
    with db.connect() as conn:
        create_checkpoint(conn, folder, folder, now=datetime.now(UTC) - timedelta(hours=2))
    age = scrape(client)[("juki_audit_checkpoint_age_seconds", ())]
    assert 2 * 3600 <= age < 2 * 3600 + 120


def test_healthz_and_readyz(db: Database, pki: Pki, tmp_path: Path) -> None:
    """Issue 13 item 5: /healthz answers while the process lives; /readyz is 200 only with the
    database reachable, the schema current, the certificates valid and the CRL not expired, and
    names the failing check with its stable code otherwise."""
    client = TestClient(create_admin_app(db, pki, ["pref-server"]))
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True

    # The server certificate the administrator requires does not exist.
    missing = TestClient(create_admin_app(db, pki, ["fuhyo-server"])).get("/readyz")
    assert missing.status_code == 503
    assert [c["code"] for c in missing.json()["checks"] if not c["ok"]] == ["E_READY_CERTIFICATE"]

    # A migration the program does not have (an older program started after an upgrade).
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO public.juki_schema_migrations (version, name, checksum) VALUES (9999, 'x', 'x')"
        )
    newer = client.get("/readyz")
    assert newer.status_code == 503
    assert [c["code"] for c in newer.json()["checks"] if not c["ok"]] == ["E_READY_MIGRATIONS"]
    with db.connect() as conn:
        conn.execute("DELETE FROM public.juki_schema_migrations WHERE version = 9999")

    # The CRL past its nextUpdate: every handshake would fail, so not ready.
    pki.crl_path.unlink()
    no_crl = client.get("/readyz")
    assert no_crl.status_code == 503
    assert [c["code"] for c in no_crl.json()["checks"] if not c["ok"]] == ["E_READY_CRL"]
    pki.publish_crl()

    # The database unreachable: not ready, and /metrics says so instead of failing.
    gone = Database(
        settings=db.settings, _admin_conninfo="host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2"
    )
    down = TestClient(create_admin_app(gone, pki))
    answer = down.get("/readyz")
    assert answer.status_code == 503
    assert [c["code"] for c in answer.json()["checks"] if not c["ok"]] == ["E_READY_DATABASE"]
    assert scrape(down)[("juki_database_up", ())] == 0.0
    assert down.get("/healthz").status_code == 200
