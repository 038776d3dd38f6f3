"""A server configured for 静岡県 (JUKI_PREFECTURE=22) end to end (issue 14, item 1): its synthetic
population loads, the 市町村CS simulator sends a stream over mTLS under certificates of 静岡県's
municipalities and gets every answer it predicts, an old 浜松市 ward code is accepted for a 2023
change and refused for a 2025 one (E_LG_CODE_NOT_VALID_ON_DATE), statistics sum 浜松市's old and new
wards into the city, and the record view names the codes. Nothing of 神奈川県 is involved.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from juki.domain.lgcodes import for_prefecture
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.terminal.record_view import value_text
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.municipal import MunicipalCsSimulator
from juki.services.access.pki import Pki, server_context
from juki.services.registry.load import load_population
from juki.services.statistics.request import StatsRequest
from juki.services.statistics.service import build_report
from juki.store.db import Database, DbRole
from juki.synth import ACCEPTED, SynthChange, generate_changes, write_population
from tests.factories import jcode, mynum

SHIZUOKA = for_prefecture("22")
NAKA_OLD = "221317"  # 浜松市中区, abolished 2024-01-01
HAMAMATSU = "221309"
PERSONS, SEED = 1500, 22


def _move_in(code: str, change_date: str, serial: str) -> dict[str, Any]:
    """A 転入 to 浜松市中区 sent by 中区 itself (a late notification of 2023 needs its old sender)."""
    return {
        "file": "pref",
        "municipality_code": code,
        "notification_id": f"late-{serial}",
        "reason": "domestic_move_in",
        "change_date": change_date,
        "juminhyo_code": jcode(f"90000000{serial}"),
        "record": {
            "name_kanji": "浜松　一郎",
            "name_kana": "ハママツ　イチロウ",
            "birth_date": "1980-01-02",
            "sex": "1",
            "address": "静岡県浜松市中区元城町103番地の2",
            "municipality_code": code,
            "aza_code": "",
            "my_number": mynum(f"900000000{serial}"),
            "former_surname_kanji": "",
            "former_surname_kana": "",
        },
    }


def test_D1_A3_D2_A3_a_shizuoka_server_loads_takes_notifications_and_applies_code_validity(
    db: Database, tmp_path: Path
) -> None:
    """D1-A3/D2-A3 (the prefecture's persons in Files 1 and 2), D1-14 (市町村コード valid on the
    異動年月日), SIM-1 (the simulator as 静岡県's municipalities), F1-8 (wards summed per city)."""
    shizuoka_db = dataclasses.replace(db, settings=dataclasses.replace(db.settings, prefecture="22"))
    write_population(tmp_path / "pop", PERSONS, SEED, prefecture="22")
    reports = load_population(
        {FileKind.PREF: db.admin_conninfo, FileKind.FUHYO: db.admin_conninfo},
        tmp_path / "pop",
        rejects_dir=tmp_path / "rejects",
        prefecture="22",
        workers_per_file=0,
    )
    assert all(r.rejected == 0 for r in reports), [r.rejects_path for r in reports]
    with db.connect() as conn:
        codes = {
            str(r[0]) for r in conn.execute("SELECT DISTINCT municipality_code FROM pref.identity_current")
        }
    assert codes and all(SHIZUOKA.is_resident_register_municipality(c) for c in codes)
    assert {"221384", "221392"} & codes  # 浜松市's new wards are where people live now
    assert not {NAKA_OLD, "221325", "221333"} & codes  # nobody in an abolished ward

    pki = Pki(tmp_path / "pki", prefecture="22")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    late = [
        SynthChange(_move_in(NAKA_OLD, "2023-06-01", "01"), None, ACCEPTED),
        SynthChange(_move_in(NAKA_OLD, "2025-06-01", "02"), None, "E_LG_CODE_NOT_VALID_ON_DATE"),
    ]
    with serve_in_thread(create_intake_app(shizuoka_db), context) as server:
        simulator = MunicipalCsSimulator(pki, server.url)
        try:
            stream = list(generate_changes(PERSONS, SEED, 200, invalid_share=0.1, prefecture="22"))
            report = simulator.send([*stream, *late], batch_size=50)
        finally:
            simulator.close()
    assert report.mismatches == []
    assert report.sent == 202 and report.outcomes.get("accepted", 0) >= 160
    assert report.outcomes.get("E_LG_CODE_NOT_VALID_ON_DATE") == 1
    senders = {str(c.notification["municipality_code"]) for c in stream if c.notification}
    assert senders and all(s.startswith("22") for s in senders)

    with db.connect(DbRole.PREF, autocommit=True) as conn:
        held = conn.execute(
            "SELECT municipality_code FROM pref.identity_current WHERE juminhyo_code = %s",
            (jcode("9000000001"),),
        ).fetchone()
        refused = conn.execute(
            "SELECT count(*) FROM pref.identity_current WHERE juminhyo_code = %s", (jcode("9000000002"),)
        ).fetchone()
        stats = build_report(conn, StatsRequest(FileKind.PREF, date(2026, 12, 31), prefecture="22"))
    assert held is not None and held[0] == NAKA_OLD  # the old record keeps its old code
    assert refused is not None and refused[0] == 0

    rows = {str(r[0]): list(r) for r in stats.table("population_by_municipality").rows}
    hamamatsu = rows[HAMAMATSU]
    assert hamamatsu[1] == "浜松市（計）"
    wards = [code for code in rows if (city := SHIZUOKA.city_of(code)) is not None and city.code == HAMAMATSU]
    assert NAKA_OLD in wards and "221384" in wards  # the old ward's one resident, the new wards'
    assert hamamatsu[4] == sum(rows[w][4] for w in wards)
    total = rows["220001"]
    assert total[1] == "静岡県（合計）" and total[4] >= hamamatsu[4] > 0
    assert value_text("municipality_code", NAKA_OLD) == "221317（浜松市中区）"
