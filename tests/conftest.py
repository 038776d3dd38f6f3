"""Shared fixtures: one embedded PostgreSQL cluster per test session, a migrated template
database, and a fresh database cloned from it for every test that needs one (fast: a file copy)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from juki.config import Settings
from juki.peers.national import NationalKind
from juki.store.db import Database
from juki.store.embedded import EmbeddedCluster, find_binaries
from juki.store.migrate import migrate
from tests.peers.national_support import Certs, Sim, make_pki, running_simulator

TEMPLATE = "juki_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    data_dir = tmp_path_factory.mktemp("pgcluster")
    mode = os.environ.get("JUKI_PG_BINARIES", "auto")
    cluster = EmbeddedCluster(data_dir, find_binaries(mode))
    cluster.start()
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    with psycopg.connect(cluster.conninfo(TEMPLATE), autocommit=True) as conn:
        migrate(conn)
    yield cluster
    cluster.stop()


@pytest.fixture
def db(cluster: EmbeddedCluster, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of its own, reached like production code reaches it."""
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    settings = Settings(data_dir=tmp_path, database_url=cluster.conninfo(name), database_name=name)
    yield Database(settings=settings, cluster=cluster, _admin_conninfo=cluster.conninfo(name))
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the national simulators, shared by the peer, J-LIS and fault tests ------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    """A running 全国サーバ simulator with an empty copy (a test module may override it)."""
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        yield pair


@pytest.fixture
def fuhyo_national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(
        cluster, NationalKind.FUHYO_NATIONAL, certs.server_ctx(certs.fuhyo_national)
    ) as pair:
        yield pair
