"""Line linkage over mutual TLS (F1-2b, S-23, S-33): the requester's agent pushes request files from its
folder and fetches the results back; its certificate names its requester, and nothing else is possible."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.intake_api import close_pools, create_intake_app
from juki.interfaces.line_agent import LineAgent
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.services.access.pki import Pki, client_context, server_context
from juki.store.db import Database, DbRole
from tests.services.provision.bulk.support import MIXED_ROWS, population, read_result, request


@dataclass
class Net:
    pki: Pki
    server: RunningServer

    def agent(self, folder: Path, cert: str, requester: str, task: str = "unten-menkyo") -> LineAgent:
        ctx = client_context(self.pki.cert_path(cert), self.pki.key_path(cert), self.pki.ca_cert_path)
        return LineAgent(
            server_url=self.server.url, folder=folder, requester=requester, file=FileKind.PREF, task=task,
            ssl_context=ctx,
        )  # fmt: skip


@pytest.fixture
def net(db: Database, tmp_path: Path) -> Iterator[Net]:
    population(db)
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.LINE_AGENT, "koan-agent", requester="koan")
    pki.issue(PeerRole.LINE_AGENT, "zeimu-agent", requester="zeimu")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-tsurumi", lg_code="141011")
    ctx = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    app = create_intake_app(db)
    try:
        with serve_in_thread(app, ctx) as server:
            yield Net(pki, server)
    finally:
        close_pools(app)


def test_s33_f1_2b_agent_pushes_requests_and_fetches_results(db: Database, net: Net, tmp_path: Path) -> None:
    """F1-2b, S-33, S-23: the agent pushes request/irai.csv over mTLS, the job is processed, the result
    lands in result/irai.result.csv (one row per request row), the request moves to request/.sent; the
    push and the fetch are recorded as line exchanges with the agent's certificate, and logged as the
    system 'line'."""
    folder = tmp_path / "zeimu-share"
    (folder / "request").mkdir(parents=True)
    (folder / "request" / "irai.csv").write_bytes(request(*(row for row, _ in MIXED_ROWS)))
    (folder / "request" / "half.csv.part").write_bytes(b"not yet")
    with net.agent(folder, "koan-agent", "koan") as agent:
        report = agent.run_once()
    assert list(report.sent) == ["irai.csv"] and list(report.fetched) == ["irai.csv"]
    rows = read_result((folder / "result" / "irai.result.csv").read_bytes())
    assert [r["result_code"] for r in rows] == [code for _, code in MIXED_ROWS]
    assert (folder / "request" / "half.csv.part").exists()
    assert not (folder / "request" / "irai.csv").exists()
    assert [p.name for p in (folder / "request" / ".sent").iterdir()] == [
        f"{report.sent['irai.csv']}-irai.csv"
    ]
    with db.connect(DbRole.PREF) as conn:
        exchanges = conn.execute(
            "SELECT kind, peer_name, rows FROM pref.bulk_exchange ORDER BY id"
        ).fetchall()
        log = conn.execute(
            "SELECT count(*) FROM pref.provision_record WHERE operator_login = 'line:koan-agent'"
        )
        assert log.fetchone() == (len(MIXED_ROWS),)
    assert exchanges == [("line_request", "koan-agent", 8), ("line_result", "koan-agent", 8)]
    with db.connect() as admin:
        kinds = admin.execute(
            "SELECT DISTINCT actor_kind, claimed_login FROM audit.op_log WHERE function = 'bulk_submit'"
        ).fetchall()
    assert kinds == [("system:line", "koan-agent")]


def test_s33_an_agent_acts_only_for_the_requester_its_certificate_names(
    db: Database, net: Net, tmp_path: Path
) -> None:
    """S-33: an agent naming another requester than its certificate is refused (E_BULK_REQUESTER); it
    cannot read another requester's job (E_BULK_JOB_NOT_FOUND); a municipal CS certificate cannot use the
    endpoint at all (E_PEER_ROLE); nothing is stored for a refused push."""
    folder = tmp_path / "share"
    (folder / "request").mkdir(parents=True)
    (folder / "request" / "a.csv").write_bytes(request(MIXED_ROWS[0][0]))
    with net.agent(folder, "zeimu-agent", "koan") as agent:
        report = agent.run_once()
    assert report.refused == {"a.csv": "E_BULK_REQUESTER"}
    assert json.loads((folder / "result" / "a.error.json").read_text())["code"] == "E_BULK_REQUESTER"
    assert (folder / "request" / ".refused" / "a.csv").exists()
    # koan's own job, then zeimu's agent asks for it
    (folder / "request" / "b.csv").write_bytes(request(MIXED_ROWS[0][0]))
    with net.agent(folder, "koan-agent", "koan") as agent:
        job_id = agent.run_once().sent["b.csv"]
    for cert in ("zeimu-agent", "cs-tsurumi"):
        ctx = client_context(net.pki.cert_path(cert), net.pki.key_path(cert), net.pki.ca_cert_path)
        with httpx.Client(base_url=net.server.url, verify=ctx, timeout=20) as client:
            answer = client.get(f"/line/v1/pref/requests/{job_id}/result")
        expected = "E_BULK_JOB_NOT_FOUND" if cert == "zeimu-agent" else "E_PEER_ROLE"
        assert answer.json()["code"] == expected, answer.text
    with db.connect(DbRole.PREF) as conn:
        assert conn.execute("SELECT count(*) FROM pref.bulk_job").fetchone() == (1,)


def test_f1_2b_line_task_must_allow_the_line_method(db: Database, net: Net, tmp_path: Path) -> None:
    """F1-2b, S-22: a task whose methods do not include line linkage answers 提供方法不許可 (a key the task
    does not allow is refused first, in the catalog's order), nothing provided."""
    net.pki.issue(PeerRole.LINE_AGENT, "kyoiku-agent", requester="kyoiku")
    folder = tmp_path / "kyoiku"
    (folder / "request").mkdir(parents=True)
    (folder / "request" / "c.csv").write_bytes(request(MIXED_ROWS[0][0], MIXED_ROWS[2][0]))
    with net.agent(folder, "kyoiku-agent", "kyoiku", task="tokubetsu-shien") as agent:
        agent.run_once()
    rows = read_result((folder / "result" / "c.result.csv").read_bytes())
    assert [r["result_code"] for r in rows] == ["P_KEY_NOT_ALLOWED", "P_METHOD_NOT_ALLOWED"]
    assert all(r["name_kanji"] == "" for r in rows)


def test_f1_2b_an_upload_cut_off_mid_stream_leaves_nothing(db: Database, net: Net) -> None:
    """F1-2b: the agent's connection drops after half the file: no job, no row, no result — the refusal
    (E_BULK_TRUNCATED) is in the operation log as the system 'line'."""
    body = request(*(row for row, _ in MIXED_ROWS))
    head = (
        b"POST /line/v1/pref/requests?task=unten-menkyo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
        + f"Content-Length: {len(body) * 10}\r\n\r\n".encode()
    )
    ctx = client_context(
        net.pki.cert_path("koan-agent"), net.pki.key_path("koan-agent"), net.pki.ca_cert_path
    )
    with (
        socket.create_connection(("127.0.0.1", net.server.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while True:
        with db.connect() as conn:
            refused = conn.execute(
                "SELECT count(*) FROM audit.op_log WHERE actor_kind = 'system:line' AND detail->>'refusal' = %s",
                ("E_BULK_TRUNCATED",),
            ).fetchone()
            jobs = conn.execute("SELECT count(*) FROM pref.bulk_job").fetchone()
        if refused == (1,) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert refused == (1,) and jobs == (0,)
