"""The 市町村CS simulator sends realistic streams over mTLS and gets the expected answers (SIM-1)."""

from __future__ import annotations

from pathlib import Path

import orjson

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.municipal import MunicipalCsSimulator, _batches, _route, _waves
from juki.services.access.pki import Pki, server_context
from juki.services.registry.load import load_population
from juki.store.db import Database, DbRole
from juki.synth import generate_changes, write_population


def test_simulated_municipalities_send_a_stream_and_every_answer_is_the_expected_one(
    db: Database, tmp_path: Path
) -> None:
    """Each notification is sent with its own municipality's certificate; valid ones are applied,
    each deliberately invalid one gets exactly the error code the stream predicts (S-39, S-40)."""
    persons, seed = 2000, 5
    write_population(tmp_path / "pop", persons, seed)
    load_population(
        {FileKind.PREF: db.admin_conninfo, FileKind.FUHYO: db.admin_conninfo},
        tmp_path / "pop",
        rejects_dir=tmp_path / "rejects",
        workers_per_file=0,
    )
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    with serve_in_thread(create_intake_app(db), context) as server:
        simulator = MunicipalCsSimulator(pki, server.url)
        try:
            report = simulator.send(generate_changes(persons, seed, 300, invalid_share=0.1), batch_size=50)
        finally:
            simulator.close()
    assert report.sent == 300
    assert report.mismatches == []
    assert report.outcomes.get("accepted", 0) >= 250
    assert report.outcomes.get("E_ENCODING") and report.outcomes.get("E_JSON")
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(DISTINCT source) FROM pref.notification_inbox WHERE source LIKE 'cs:%'"
        ).fetchone()
    assert row is not None and row[0] > 5  # many municipalities, each under its own certificate


def test_F1_7_municipal_reconciliation_upload_over_mtls(db: Database, tmp_path: Path) -> None:
    """F1-7/F2-7/S-53: a municipal CS uploads its complete set; an unchanged file matches exactly,
    a change the municipality never notified shows up as a field difference."""
    persons, seed = 1500, 9
    write_population(tmp_path / "pop", persons, seed)
    load_population(
        {FileKind.PREF: db.admin_conninfo, FileKind.FUHYO: db.admin_conninfo},
        tmp_path / "pop",
        rejects_dir=tmp_path / "rejects",
        workers_per_file=0,
    )
    with db.connect() as conn:
        row = conn.execute(
            "SELECT municipality_code, count(*) FROM pref.identity_current WHERE status = 'present' "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        assert row is not None
        municipality, present = str(row[0]), int(row[1])
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    with serve_in_thread(create_intake_app(db), context) as server:
        simulator = MunicipalCsSimulator(pki, server.url)
        try:
            same = simulator.reconcile(municipality, FileKind.PREF, persons, seed)
            with db.connect(DbRole.PREF) as conn:
                conn.execute(
                    "UPDATE pref.identity_current SET address = address || '（相違）' WHERE juminhyo_code = "
                    "(SELECT min(juminhyo_code) FROM pref.identity_current WHERE municipality_code = %s "
                    "AND status = 'present')",
                    (municipality,),
                )
                conn.commit()
            changed = simulator.reconcile(municipality, FileKind.PREF, persons, seed)
        finally:
            simulator.close()
    assert same["counts"]["identical"] == present and same["counts"]["differences"] == 0
    assert changed["counts"]["different"] == 1 and changed["counts"]["fields"] == {"address": 1}


def test_waves_split_into_independent_groups_that_may_be_sent_at_once() -> None:
    """The concurrent sender's unit: within a wave no person (of one file) is in two groups, so the
    groups may be sent at the same time; flattened, the waves are exactly the sequential batches."""
    changes = list(generate_changes(3000, 7, 2000))
    waves = list(_waves(changes, 40))
    assert [b for wave in waves for group in wave for b in group] == list(_batches(changes, 40))
    assert len(waves) > 1
    owner: dict[bytes, str] = {}
    for change in changes:  # each line's persons, the same way the simulator routes them
        _, _, persons = _route(change, "", "pref")
        if change.notification is not None:
            owner[change.raw_line or orjson.dumps(change.notification)] = ",".join(sorted(persons))
    for wave in waves:
        seen: dict[str, int] = {}
        for index, group in enumerate(wave):
            assert len({(sender, file) for sender, file, _ in group}) == 1
            for _, _, items in group:
                for line, _ in items:
                    for person in filter(None, owner.get(line, "").split(",")):
                        assert seen.setdefault(person, index) == index, person
