"""Builders for tests that talk to the 全国サーバ / 附票全国サーバ simulators: a PKI with every certificate
the tests need, a database of the simulator's own, a running simulator, an HTTP client.

Used by tests/peers, tests/services/jlis and tests/faults (the fixtures are in the conftest.py files).
"""

from __future__ import annotations

import itertools
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from juki.domain.peers import PeerRole
from juki.peers.national import NationalKind, NationalSimulator, RunningServer
from juki.services.access.pki import IssuedCert, Pki, client_context, server_context
from juki.store.embedded import EmbeddedCluster
from tests.factories import TSURUMI

Sim = tuple[NationalSimulator, RunningServer]

_sim_dbs = itertools.count()


@dataclass
class Certs:
    """A CA and one certificate per party of the tests."""

    pki: Pki
    national: IssuedCert  # 全国サーバ (server)
    fuhyo_national: IssuedCert  # 附票全国サーバ (server)
    pref_server: IssuedCert  # 都道府県サーバ (client of the 全国サーバ)
    fuhyo_server: IssuedCert  # 附票都道府県サーバ (client of the 附票全国サーバ)
    municipal: IssuedCert  # a 市町村CS: a valid certificate of the wrong role
    revoked: IssuedCert  # a pref_server certificate, revoked and in the CRL

    def server_ctx(self, cert: IssuedCert) -> ssl.SSLContext:
        return server_context(cert.cert_path, cert.key_path, self.pki.ca_cert_path, self.pki.crl_path)

    def client_ctx(self, cert: IssuedCert) -> ssl.SSLContext:
        return client_context(cert.cert_path, cert.key_path, self.pki.ca_cert_path, self.pki.crl_path)

    def anonymous_ctx(self) -> ssl.SSLContext:
        """Trusts the CA, presents no certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=self.pki.ca_cert_path)
        return ctx


def make_pki(directory: Path) -> Certs:
    pki = Pki(directory)
    pki.init()
    certs = Certs(
        pki=pki,
        national=pki.issue(PeerRole.NATIONAL, "national"),
        fuhyo_national=pki.issue(PeerRole.FUHYO_NATIONAL, "fuhyo-national"),
        pref_server=pki.issue(PeerRole.PREF_SERVER, "pref-server"),
        fuhyo_server=pki.issue(PeerRole.FUHYO_SERVER, "fuhyo-server"),
        municipal=pki.issue(PeerRole.MUNICIPAL_CS, "cs-tsurumi", lg_code=TSURUMI),
        revoked=pki.issue(PeerRole.PREF_SERVER, "pref-server-old"),
    )
    pki.revoke("pref-server-old", "superseded")
    pki.publish_crl()
    return certs


@contextmanager
def sim_database(cluster: EmbeddedCluster) -> Iterator[str]:
    """A database of the simulator's own in the session's cluster (not migrated by juki); its conninfo."""
    name = f"jlis{os.getpid()}_{next(_sim_dbs)}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield cluster.conninfo(name)
    finally:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def running_simulator(
    cluster: EmbeddedCluster, kind: NationalKind, ctx: ssl.SSLContext
) -> Iterator[tuple[NationalSimulator, RunningServer]]:
    with sim_database(cluster) as conninfo:
        sim = NationalSimulator(kind, conninfo)
        try:
            with sim.serve_in_thread(ctx) as running:
                yield sim, running
        finally:
            sim.close()


def client(ctx: ssl.SSLContext, running: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=running.url, verify=ctx, timeout=5.0, trust_env=False)
