"""The requester simulator (SIM-4, SIM-5): realistic request lists from the stored file, dropped in the
line-linkage folder, processed, and every result row checked against what the simulator expected."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.domain.peers import PeerRole
from juki.domain.provision import KeyType
from juki.domain.records import FileKind
from juki.interfaces.intake_api import close_pools, create_intake_app
from juki.interfaces.line_agent import LineAgent
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.peers.national import NationalKind
from juki.peers.requester import build_request, check_result
from juki.services.access import operators, sessions, terminals
from juki.services.access.actor import Actor
from juki.services.access.pki import Pki, client_context, server_context
from juki.services.jlis.communication_records import query_log
from juki.services.provision.bulk import service
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster
from tests.factories import apply_accepted, born
from tests.peers.national_support import running_simulator
from tests.services.access.support import ADMIN_PASSWORD, System
from tests.services.provision.bulk.support import requester_actor, store_of

KEYS = frozenset({KeyType.BASIC4, KeyType.RESIDENT_CODE})


@pytest.fixture
def people(db: Database) -> None:
    """Forty persons: a few share a name and birth date (複数該当), some share a name only."""
    family = ["ヤマダ", "サトウ", "タナカ", "イトウ", "ワタナベ", "ナカムラ"]
    given = ["イチロウ", "ハナコ", "ジロウ", "サクラ", "タロウ", "ユミ"]
    persons = [
        born(n, name_kanji=f"試験　{n}", name_kana=f"{family[n % 6]}　{given[(n // 6) % 6]}")
        for n in range(1, 37)
    ]
    persons += [born(n, name_kanji="鈴木　一郎", name_kana="スズキ　イチロウ") for n in range(37, 41)]
    apply_accepted(db, *persons)


@pytest.fixture
def server(db: Database, tmp_path: Path, people: None) -> Iterator[tuple[Pki, RunningServer]]:
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.LINE_AGENT, "koan-agent", requester="koan")
    ctx = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    app = create_intake_app(db)
    try:
        with serve_in_thread(app, ctx) as running:
            yield pki, running
    finally:
        close_pools(app)


@pytest.mark.parametrize(("encoding", "jlis"), [("utf-8", True), ("cp932", False)])
def test_sim4_sim5_F1_2b_simulated_requests_get_exactly_the_expected_answers(
    db: Database,
    server: tuple[Pki, RunningServer],
    cluster: EmbeddedCluster,
    tmp_path: Path,
    encoding: str,
    jlis: bool,
) -> None:
    """SIM-4, SIM-5, F1-2b: 300 mixed rows (matches, not found, ambiguous, key not allowed, malformed),
    dropped in the folder, pushed by the agent, and every result row is what the oracle expected — with
    the 全国サーバ simulator configured (rows of nobody: asked, 該当なし) and without (照会先応答なし)."""
    pki, running = server
    with contextlib.ExitStack() as stack:
        if jlis:
            pki.issue(PeerRole.NATIONAL, "national")
            ctx = server_context(
                pki.cert_path("national"), pki.key_path("national"), pki.ca_cert_path, pki.crl_path
            )
            _sim, jlis_server = stack.enter_context(running_simulator(cluster, NationalKind.NATIONAL, ctx))
            db.settings = dataclasses.replace(db.settings, national_url=jlis_server.url)
        _simulate(db, pki, running, tmp_path, encoding, jlis)


def _simulate(
    db: Database, pki: Pki, running: RunningServer, tmp_path: Path, encoding: str, jlis: bool
) -> None:
    folder = tmp_path / "share"
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        built = build_request(
            conn,
            FileKind.PREF,
            folder / "request" / "sim.csv",
            rows=300,
            allowed_keys=KEYS,
            encoding=encoding,
            national=jlis,
        )
    assert built.rows == 300
    nobody = "P_NOT_FOUND" if jlis else "P_UNAVAILABLE"
    assert {"P_MATCH", nobody, "P_AMBIGUOUS", "P_KEY_NOT_ALLOWED", "P_INVALID"} <= set(built.expected_counts)
    expected = built.expected.rename(
        tmp_path / "sim.expected.csv"
    )  # the oracle's file stays outside the share
    ctx = client_context(pki.cert_path("koan-agent"), pki.key_path("koan-agent"), pki.ca_cert_path)
    with LineAgent(
        server_url=running.url, folder=folder, requester="koan", file=FileKind.PREF, task="unten-menkyo",
        ssl_context=ctx,
    ) as agent:  # fmt: skip
        assert list(agent.run_once().fetched) == ["sim.csv"]
    report = check_result(folder / "result" / "sim.result.csv", expected, encoding=encoding)
    assert report.passed, report.to_dict()
    assert report.counts == built.expected_counts
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        asked = query_log(conn, FileKind.PREF)
    # Only the rows of nobody went to J-LIS, each with its record naming the agent (function F1-2).
    assert len(asked) == (built.expected_counts["P_NOT_FOUND"] if jlis else 0)
    assert {(c["function"], c["operator_id"], c["outcome"]) for c in asked} <= {
        ("F1-2", "line:koan-agent", "not_found")
    }


@pytest.fixture
def zeimu(db: Database) -> Iterator[Actor]:
    """An operator of the 税務 requester's bulk role, acting from the console (a 代表端末 kind)."""
    with db.connect(DbRole.TERM, autocommit=True) as term:
        boot = operators.bootstrap_first_admin(term, db.settings, "admin1", display_name="管理 一郎")
        operators.enrol_password(term, boot.enrolment_token, ADMIN_PASSWORD)
        terminal, secret = terminals.bind(term, boot.binding_token)
        signed = sessions.sign_in_password(term, db.settings, terminal, "admin1", ADMIN_PASSWORD)
        system = System(signed.actor, terminal, secret, signed.secret)
        yield requester_actor(term, db.settings, system, "zeimu1", "bulk_requester@zeimu")


def test_F2_2_S27_the_oracle_answers_file_2_only_about_persons_abroad(
    db: Database, tmp_path: Path, zeimu: Actor
) -> None:
    """SIM-4 on File 2 (LEGAL.md §1): among thirty 附票 persons, the even ones abroad and some sharing a
    name and birth date across both states, the oracle expects 一致 / 複数該当 counted among 国外転出者
    only and 該当なし for a domestic person; every row of the bulk result agrees with it."""
    from tests.factories import fuhyo_record, juminhyo, notification

    kana = ["ヤマダ　タロウ", "サトウ　ハナコ", "タナカ　ジロウ"]

    def born_on(n: int) -> str:
        return f"2000-01-0{1 + n % 4}"

    def record(n: int, **over: str) -> dict[str, str]:
        return fuhyo_record(name_kana=kana[n % 3], birth_date=born_on(n), **over)

    apply_accepted(
        db,
        *(
            notification("fuhyo", "birth", juminhyo(n), record=record(n), change_date=born_on(n))
            for n in range(1, 31)
        ),
    )
    moved = {"address_municipality_code": "", "address": "カナダ", "last_address": "横浜市鶴見区豊岡町1番1号"}
    apply_accepted(
        db,
        *(
            notification("fuhyo", "overseas_move_out", juminhyo(n), record=record(n, **moved))
            for n in range(2, 31, 2)
        ),
    )
    with db.connect(DbRole.FUHYO, autocommit=True) as fuhyo:
        built = build_request(fuhyo, FileKind.FUHYO, tmp_path / "f2.csv", rows=200, allowed_keys=KEYS, seed=3)
        assert {"P_MATCH", "P_NOT_FOUND", "P_AMBIGUOUS"} <= set(built.expected_counts)
        store = store_of(db.settings)
        job = service.submit_at_terminal(
            fuhyo, zeimu, FileKind.FUHYO, requester_code="zeimu", task_code="kenzei-kokugai",
            chunks=[built.request.read_bytes()], file_name="f2.csv", store=store,
        )  # fmt: skip
    report = check_result(store.path(FileKind.FUHYO, job.id), built.expected)
    assert report.passed, report.to_dict()
    domestic = {juminhyo(n) for n in range(1, 31, 2)}
    with db.connect(autocommit=True) as admin:
        given = {r[0] for r in admin.execute("SELECT juminhyo_code FROM fuhyo.provision_record").fetchall()}
    assert given and not (given & domestic)
