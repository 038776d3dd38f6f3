"""The whole network on one machine: PKI, the intake, the two national simulators, the relays.

Used by `juki demo` (the README's run command) and `juki bench intake`. Every hop is real: the
municipal simulator → mTLS → the intake → committed → the outbox → the relay → mTLS → the national
simulators, each with its own certificate naming its role.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import FUHYO, PREF, file_spec
from juki.interfaces.intake_api import close_pools, create_intake_app
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.peers.national import NationalSimulator
from juki.services.access.pki import Pki, ReloadingServerContext, client_context
from juki.services.jlis.relay import OutboxRelay, Peer, RelayPolicy, RelayReport
from juki.store.db import Database

#: name → role of every certificate the local network needs.
CERTIFICATES: dict[str, PeerRole] = {
    PREF.cert_name: PeerRole.PREF_SERVER,
    FUHYO.cert_name: PeerRole.FUHYO_SERVER,
    "national": PeerRole.NATIONAL,
    "fuhyo-national": PeerRole.FUHYO_NATIONAL,
}


def cert_name(role: PeerRole) -> str:
    """The name of the local network's certificate of ``role``."""
    return next(name for name, named in CERTIFICATES.items() if named is role)


def ensure_pki(directory: Path, prefecture: str) -> Pki:
    """The network CA and the servers' certificates, created on first use, kept afterwards
    (``prefecture``: the configured one, whose municipalities the CA certifies)."""
    pki = Pki(directory, prefecture=prefecture)
    if not pki.ca_cert_path.exists():
        pki.init()
    for name, role in CERTIFICATES.items():
        if not pki.cert_path(name).exists():
            pki.issue(role, name)
    pki.publish_crl()
    return pki


def _server_context(pki: Pki, name: str, reload_seconds: float) -> ReloadingServerContext:
    """The server context of certificate ``name``, following a new CRL while the network runs."""
    return ReloadingServerContext(
        pki.cert_path(name), pki.key_path(name), pki.ca_cert_path, pki.crl_path, reload_seconds=reload_seconds
    )


def sibling_database(db: Database, name: str) -> str:
    """The conninfo of database ``name`` on the same server (created if missing): a simulator's own."""
    params = conninfo_to_dict(db.admin_conninfo)
    admin = make_conninfo(**{**{k: str(v) for k, v in params.items() if v is not None}, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(**{**{k: str(v) for k, v in params.items() if v is not None}, "dbname": name})


@dataclass
class LocalNetwork:
    db: Database
    pki: Pki
    intake: RunningServer
    national: NationalSimulator
    fuhyo_national: NationalSimulator
    national_url: str
    fuhyo_national_url: str

    def relay(self, file: FileKind, policy: RelayPolicy | None = None) -> OutboxRelay:
        spec = file_spec(file)
        name = cert_name(spec.server_peer)
        url = self.national_url_of(spec.national_peer)
        context = client_context(self.pki.cert_path(name), self.pki.key_path(name), self.pki.ca_cert_path)
        return OutboxRelay(self.db, file, Peer(url, context), policy)

    def national_url_of(self, role: PeerRole) -> str:
        """The URL of the national simulator whose certificate role is ``role``."""
        served = ((self.national, self.national_url), (self.fuhyo_national, self.fuhyo_national_url))
        for simulator, url in served:
            if simulator.kind.value == role.value:
                return url
        raise KeyError(role)

    def drain(self, timeout: float = 120.0) -> dict[str, RelayReport]:
        """Relay both files until nothing is due (or ``timeout``): what each relay did."""
        reports = {kind.value: RelayReport(file=kind.value) for kind in FileKind}
        relays = {kind: self.relay(kind) for kind in FileKind}
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                moved = 0
                for kind, relay in relays.items():
                    report = relay.run_once()
                    reports[kind.value].add(report)
                    moved += report.claimed
                if not moved:
                    break
        finally:
            for relay in relays.values():
                relay.close()  # close keep-alive connections so the servers stop promptly
        return reports


@contextlib.contextmanager
def local_network(db: Database, pki_dir: Path, *, sim_prefix: str = "juki_sim") -> Iterator[LocalNetwork]:
    """Start the national simulators and the intake (threads, 127.0.0.1 ephemeral ports)."""
    pki = ensure_pki(pki_dir, db.settings.prefecture)
    reload_seconds = db.settings.crl_reload_seconds
    national = NationalSimulator("national", sibling_database(db, f"{sim_prefix}_national"))
    fuhyo_national = NationalSimulator("fuhyo_national", sibling_database(db, f"{sim_prefix}_fuhyo_national"))
    national_server = national.serve_in_thread(_server_context(pki, "national", reload_seconds))
    fuhyo_server = fuhyo_national.serve_in_thread(_server_context(pki, "fuhyo-national", reload_seconds))
    app = create_intake_app(db)
    try:
        with serve_in_thread(app, _server_context(pki, PREF.cert_name, reload_seconds)) as intake:
            yield LocalNetwork(
                db, pki, intake, national, fuhyo_national, national_server.url, fuhyo_server.url
            )
    finally:
        close_pools(app)
        national_server.stop()
        fuhyo_server.stop()
        national.close()
        fuhyo_national.close()
