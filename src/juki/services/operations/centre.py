"""Preparing and running a consolidation centre's prefectures (issue 14; `juki centre …`).

Each prefecture is prepared exactly as a single-prefecture installation is — its own cluster, the
same migrations, its own CA and server certificates — only side by side, as `centre.toml` lists
them (`juki.centre_config`). Nothing here is shared between prefectures but the program.
"""

from __future__ import annotations

from dataclasses import dataclass

from juki.centre_config import Centre, PrefectureInstance, settings_for
from juki.config import Settings
from juki.domain.peers import PeerRole
from juki.files import all_files
from juki.services.access.pki import Pki
from juki.store import centre_cluster
from juki.store.db import Database
from juki.store.migrate import migrate


@dataclass(frozen=True)
class Prepared:
    """What preparing one prefecture did."""

    code: str
    migrations: int  # applied now
    ca_created: bool


def instance_settings(instance: PrefectureInstance, base: Settings) -> Settings:
    """The settings a prefecture's processes run with: its own database URL (external), or its
    embedded cluster's socket with its own password file."""
    url = instance.database_url or centre_cluster.conninfo(instance.data_dir, base.pg_binaries)
    return settings_for(instance, base, url)


def open_instance(instance: PrefectureInstance, base: Settings) -> Database:
    """The prefecture's database (its embedded cluster started first when it has one)."""
    if instance.database_url is None:
        centre_cluster.start(instance.data_dir, base.pg_binaries)
    return Database.open(instance_settings(instance, base))


def prepare(instance: PrefectureInstance, base: Settings) -> Prepared:
    """Cluster, migrations, passwords and PKI of one prefecture; safe to run again (idempotent)."""
    instance.data_dir.mkdir(parents=True, exist_ok=True)
    applied = 0
    if instance.database_url is None:
        # First the database and the passwords of the roles that exist, then the migrations (which
        # may add roles), then the passwords again for those.
        centre_cluster.secure(instance.data_dir, base.pg_binaries)
    db = open_instance(instance, base)
    with db.connect(autocommit=True) as conn:
        applied = len(migrate(conn))
    if instance.database_url is None:
        centre_cluster.secure(instance.data_dir, base.pg_binaries)
    return Prepared(instance.code, applied, ensure_prefecture_pki(instance))


def ensure_prefecture_pki(instance: PrefectureInstance) -> bool:
    """The prefecture's own CA (named for it) and its servers' certificates; True when the CA is new.

    Its own CA is what keeps a 市町村CS of another prefecture out at the TLS handshake: the intake
    of prefecture A trusts only A's CA.
    """
    pki = Pki(instance.pki_directory, prefecture=instance.code)
    created = not pki.ca_cert_path.exists()
    if created:
        pki.init()  # its name carries the prefecture: juki network CA 22 静岡県
    for spec in all_files():
        if not pki.cert_path(spec.cert_name).exists():
            pki.issue(PeerRole(spec.server_peer), spec.cert_name)
    return created


def prepare_all(centre: Centre, base: Settings) -> list[Prepared]:
    return [prepare(instance, base) for instance in centre.prefectures]


def stop_all(centre: Centre, base: Settings) -> list[str]:
    """Stop the embedded clusters; the codes of those that were running."""
    stopped = []
    for instance in centre.prefectures:
        if instance.database_url is None and centre_cluster.is_running(instance.data_dir, base.pg_binaries):
            centre_cluster.stop(instance.data_dir, base.pg_binaries)
            stopped.append(instance.code)
    return stopped
