"""Reconciliation over mutual TLS and from the command line (REQUIREMENTS F1-7, F2-7, S-53)."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.cli import app as cli_app
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.services.access.pki import Pki, client_context, server_context
from juki.store.db import Database
from tests.factories import (
    KAMAKURA,
    MOVED,
    TSURUMI,
    YOKOHAMA,
    apply_accepted,
    born,
    csv_bytes,
    juminhyo,
    person,
)


@dataclass
class Net:
    pki: Pki
    server: RunningServer

    def context(self, name: str) -> ssl.SSLContext:
        return client_context(self.pki.cert_path(name), self.pki.key_path(name), self.pki.ca_cert_path)

    def client(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, verify=self.context(name), timeout=20)


@pytest.fixture
def net(db: Database, tmp_path: Path) -> Iterator[Net]:
    apply_accepted(
        db, *(born(n) for n in (1, 2, 3, 4)), born(5, KAMAKURA, address="神奈川県鎌倉市御成町1番1号")
    )
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-tsurumi", lg_code=TSURUMI)
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-kamakura", lg_code=KAMAKURA)
    pki.issue(PeerRole.TERMINAL, "terminal-1")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    with serve_in_thread(create_intake_app(db), context) as server:
        yield Net(pki, server)


UPLOAD = csv_bytes(FileKind.PREF, [person(1), person(2, address=MOVED), person(4), person(7)])


def post(client: httpx.Client, data: Any, file: str = "pref", **params: Any) -> httpx.Response:
    return client.post(
        f"/cs/v1/{file}/reconciliation", content=data, headers={"content-type": "text/csv"}, params=params
    )


def run_row(db: Database, run_id: int) -> tuple[Any, ...]:
    with db.connect() as conn:
        got = conn.execute(
            """SELECT status, error_code, (SELECT count(*) FROM pref.reconciliation_diff WHERE run_id = %s)
                 FROM pref.reconciliation_run WHERE id = %s""",
            (run_id, run_id),
        ).fetchone()
    assert got is not None
    return tuple(got)


def test_F1_7_municipal_cs_reconciles_over_mtls_and_pages_the_result(net: Net, db: Database) -> None:
    """F1-7 / S-53: 鶴見区's CS streams its complete set (chunked); the answer has the run, the counts,
    the first differences and where to page the rest; the kept run reads back page by page."""

    def stream() -> Iterator[bytes]:
        for i in range(0, len(UPLOAD), 100):
            yield UPLOAD[i : i + 100]

    with net.client("cs-tsurumi") as client:
        response = post(client, stream(), limit=2)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["status"] == "completed" and doc["municipality_code"] == TSURUMI
        assert doc["requested_by"] == f"cs:{TSURUMI}" and doc["uploaded_rows"] == 4
        counts = doc["counts"]
        assert (counts["different"], counts["missing_on_server"], counts["missing_on_municipal"]) == (1, 1, 1)
        assert [(d["juminhyo_code"], d["kind"]) for d in doc["differences"]] == [
            (juminhyo(2), "different"),
            (juminhyo(3), "missing_on_municipal"),
        ]
        assert doc["page"] == {
            "offset": 0,
            "limit": 2,
            "total": 3,
            "next": f"/cs/v1/pref/reconciliation/{doc['run_id']}?offset=2&limit=2",
        }
        rest = client.get(doc["page"]["next"])
        assert rest.status_code == 200
        assert [(d["seq"], d["kind"]) for d in rest.json()["differences"]] == [(3, "missing_on_server")]
        assert rest.json()["page"]["next"] is None


def test_S53_another_municipality_cannot_read_the_run(net: Net) -> None:
    """A municipal certificate reads only its own municipality's runs (403 otherwise; 404 unknown)."""
    with net.client("cs-tsurumi") as client:
        run_id = post(client, UPLOAD).json()["run_id"]
    with net.client("cs-kamakura") as client:
        other = client.get(f"/cs/v1/pref/reconciliation/{run_id}")
        missing = client.get("/cs/v1/pref/reconciliation/999999")
    assert (other.status_code, other.json()["code"]) == (403, "E_RECON_FORBIDDEN")
    assert "differences" not in other.json()
    assert (missing.status_code, missing.json()["code"]) == (404, "E_RECON_NOT_FOUND")


def test_S53_a_wrong_role_certificate_gets_403(net: Net, db: Database) -> None:
    """A terminal certificate is authenticated but not a 市町村CS: nothing is run or shown."""
    with net.client("terminal-1") as client:
        posted = post(client, UPLOAD)
        read = client.get("/cs/v1/pref/reconciliation/1")
    assert (posted.status_code, posted.json()["code"]) == (403, "E_PEER_ROLE")
    assert (read.status_code, read.json()["code"]) == (403, "E_PEER_ROLE")
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pref.reconciliation_run").fetchone() == (0,)


def test_S53_bad_uploads_get_clear_errors_and_failed_runs(net: Net, db: Database) -> None:
    """Wrong header, an upload cut off mid-row, a wrong content type: JSON errors with stable codes;
    the run is kept as failed with no differences."""
    with net.client("cs-tsurumi") as client:
        header = post(client, b"code,name\n1,2\n")
        truncated = post(client, UPLOAD[:-30])
        too_few = post(client, UPLOAD, expected_rows=5)
        wrong_type = client.post(
            "/cs/v1/pref/reconciliation", content=UPLOAD, headers={"content-type": "text/plain"}
        )
        bad_row = post(client, UPLOAD + b"12345678901,x\n")
    assert (header.status_code, header.json()["code"]) == (400, "E_RECON_HEADER")
    assert (truncated.status_code, truncated.json()["code"]) == (400, "E_RECON_TRUNCATED")
    assert (too_few.status_code, too_few.json()["code"]) == (400, "E_RECON_TRUNCATED")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "E_CONTENT_TYPE")
    assert (bad_row.status_code, bad_row.json()["code"], bad_row.json()["line"]) == (422, "E_RECON_ROW", 6)
    for response, code in ((header, "E_RECON_HEADER"), (truncated, "E_RECON_TRUNCATED")):
        assert run_row(db, response.json()["run_id"]) == ("failed", code, 0)


def test_S53_a_connection_dropped_mid_upload_fails_the_run(net: Net, db: Database) -> None:
    """The CS's connection drops after half the body: the run ends failed (E_RECON_TRUNCATED)."""
    request = (
        b"POST /cs/v1/pref/reconciliation HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
        + f"Content-Length: {len(UPLOAD) * 10}\r\n\r\n".encode()
    )
    with (
        socket.create_connection(("127.0.0.1", net.server.port)) as raw,
        net.context("cs-tsurumi").wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(request + UPLOAD[: len(UPLOAD) // 2])
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while True:
        with db.connect() as conn:
            got = conn.execute("SELECT id, status FROM pref.reconciliation_run").fetchall()
        if (got and got[0][1] != "running") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(got) == 1
    assert run_row(db, got[0][0]) == ("failed", "E_RECON_TRUNCATED", 0)


def test_openapi_describes_the_reconciliation(net: Net) -> None:
    with net.client("cs-tsurumi") as client:
        spec = client.get("/openapi.json").json()
    post_op = spec["paths"]["/cs/v1/{file}/reconciliation"]["post"]
    assert "text/csv" in post_op["requestBody"]["content"]
    assert "/cs/v1/{file}/reconciliation/{run_id}" in spec["paths"]


def test_F1_7_operator_cli_runs_and_shows_a_designated_city(
    net: Net, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F1-7: `juki reconcile run FILE --municipality 141003` (横浜市: all its wards) and `show`."""
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    upload = tmp_path / "yokohama.csv"
    upload.write_bytes(UPLOAD)
    runner = CliRunner()
    ran = runner.invoke(cli_app, ["reconcile", "run", str(upload), "--municipality", YOKOHAMA, "--json"])
    assert ran.exit_code == 0, ran.output
    doc = json.loads(ran.stdout.strip().splitlines()[-1])
    assert doc["status"] == "completed" and len(doc["scope_codes"]) == 18
    assert doc["counts"]["differences"] == 3 and "differences" not in doc  # counts only (hardening 13)
    shown = runner.invoke(cli_app, ["reconcile", "show", str(doc["run_id"]), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["counts"] == doc["counts"]
    assert "differences" not in json.loads(shown.stdout)
    table = runner.invoke(cli_app, ["reconcile", "show", str(doc["run_id"])])
    assert table.exit_code == 0 and "住民票コード" not in table.output
    listed = runner.invoke(cli_app, ["reconcile", "list", "--json"])
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [doc["run_id"]]
    upload.write_bytes(UPLOAD[:-5])
    failed = runner.invoke(cli_app, ["reconcile", "run", str(upload), "--municipality", TSURUMI])
    assert failed.exit_code == 1 and "E_RECON_TRUNCATED" in failed.output
