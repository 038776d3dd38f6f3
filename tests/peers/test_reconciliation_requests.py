"""Regular reconciliation with the 市町村CS (REQUIREMENTS S-53 "定期的"; issue 13 item 2).

The weekly job asks the municipalities in turn; the simulated 市町村CS fetch their requests over
mutual TLS and answer with their complete set; the next run reports the answers with their
differences and the uploads that failed, and a request left unanswered past its due date fails the
run with E_RECON_REQUEST_OVERDUE (flagged on the jobs page and in /metrics).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.municipal import MunicipalCsSimulator
from juki.services.access.pki import Pki, server_context
from juki.services.operations import runs
from juki.services.operations.definitions import job_named
from juki.services.operations.runner import run_job
from juki.services.registry.load import load_population
from juki.services.registry.reconciliation_requests import REQUEST_DEADLINE, requests_per_run
from juki.store.db import Database, DbRole
from juki.synth import write_population


def test_S53_the_weekly_job_asks_municipalities_in_turn_and_reports_their_answers(
    db: Database, tmp_path: Path
) -> None:
    persons, seed = 800, 13
    write_population(tmp_path / "pop", persons, seed)
    load_population(
        {FileKind.PREF: db.admin_conninfo, FileKind.FUHYO: db.admin_conninfo},
        tmp_path / "pop",
        rejects_dir=tmp_path / "rejects",
        workers_per_file=0,
    )
    codes = list(db.settings.lg_table.resident_register_codes_on(datetime.now(UTC).date()))
    per_run = requests_per_run(len(codes), job_named("reconciliation_requests").period)
    assert per_run == 14  # 58 municipalities, weekly, each asked once in 30 days

    first = run_job(db, db.settings, "reconciliation_requests")
    assert first.outcome == "succeeded", first.figures
    # In turn: nobody was ever checked, so the first 14 in the code table's order, for each file.
    assert first.figures["pref"]["asked_codes"] == codes[:per_run]
    assert first.figures["fuhyo"]["asked_codes"] == codes[:per_run]
    assert first.figures["pref"]["open"] == per_run

    with db.connect() as conn:
        row = conn.execute(
            "SELECT municipality_code FROM pref.identity_current WHERE status = 'present'"
            " AND municipality_code = ANY(%s) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            (codes[:per_run],),
        ).fetchone()
    assert row is not None
    answering = str(row[0])
    failing = next(c for c in codes[:per_run] if c != answering)
    not_asked = codes[-1]
    with db.connect(DbRole.PREF) as conn:  # a change the municipality never notified
        conn.execute(
            "UPDATE pref.identity_current SET address = address || '（相違）' WHERE juminhyo_code = "
            "(SELECT min(juminhyo_code) FROM pref.identity_current WHERE municipality_code = %s"
            " AND status = 'present')",
            (answering,),
        )
        conn.commit()

    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    with serve_in_thread(create_intake_app(db), context) as server:
        simulator = MunicipalCsSimulator(pki, server.url)
        try:
            asked = simulator.client(answering).get("/cs/v1/pref/reconciliation/requests").json()
            answers = simulator.answer_reconciliation_requests(answering, FileKind.PREF, persons, seed)
            unasked = simulator.answer_reconciliation_requests(not_asked, FileKind.PREF, persons, seed)
            broken = simulator.client(failing).post(
                "/cs/v1/pref/reconciliation",
                content=b"not,the,header\n",
                headers={"content-type": "text/csv"},
            )
            after = simulator.client(answering).get("/cs/v1/pref/reconciliation/requests").json()
        finally:
            simulator.close()
    assert [r["municipality_code"] for r in asked["requests"]] == [answering]
    assert asked["columns"][0] == "juminhyo_code"
    assert len(answers) == 1 and answers[0]["status"] == "completed"
    assert answers[0]["counts"]["different"] == 1
    assert unasked == []  # a municipality not asked this round uploads nothing
    assert broken.status_code == 400 and broken.json()["code"] == "E_RECON_HEADER"
    assert after["requests"] == []  # the completed run answered the request

    second = run_job(db, db.settings, "reconciliation_requests")
    pref = second.figures["pref"]
    assert second.outcome == "succeeded", second.figures
    assert pref["answered_runs"] == [
        {"municipality": answering, "run_id": answers[0]["run_id"], "differences": 1}
    ]
    assert pref["differences"] == 1
    assert {"municipality": failing, "error_code": "E_RECON_HEADER"}.items() <= pref["failed_uploads"][
        0
    ].items()
    # The next ones in turn; the answered municipality is checked, the others still have an open request.
    assert pref["asked_codes"] == codes[per_run : 2 * per_run]
    assert pref["open"] == 2 * per_run - 1 and pref["overdue"] == 0

    # Past the due date: the unanswered requests fail the run, which keeps its figures and is flagged.
    late = datetime.now(UTC) + REQUEST_DEADLINE + timedelta(days=1)
    third = run_job(db, db.settings, "reconciliation_requests", clock=lambda: late)
    assert third.outcome == "failed" and third.error_code == "E_RECON_REQUEST_OVERDUE"
    assert failing in third.figures["pref"]["overdue_codes"]
    assert answering not in third.figures["pref"]["overdue_codes"]
    assert third.figures["fuhyo"]["overdue"] == 2 * per_run  # nobody answered for File 2
    assert third.figures["pref"]["asked_codes"] == codes[2 * per_run : 3 * per_run]
    with db.connect(DbRole.TERM) as conn:
        state = {s.job.name: s for s in runs.status(conn, late)}
    assert state["reconciliation_requests"].failed and state["reconciliation_requests"].flagged
