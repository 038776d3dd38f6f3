"""Fixtures of the J-LIS tests (relay and queries): the PKI, the simulators, the file roles' connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.peers.national import NationalKind
from juki.services.jlis.client import jlis_connection
from juki.store.db import Database
from juki.store.embedded import EmbeddedCluster
from tests.peers.national_support import Certs, Sim, make_pki, running_simulator


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    """A 全国サーバ with an empty copy (test_query.py overrides it with one holding other prefectures)."""
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        yield pair


@pytest.fixture
def fuhyo_national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(
        cluster, NationalKind.FUHYO_NATIONAL, certs.server_ctx(certs.fuhyo_national)
    ) as pair:
        yield pair


@pytest.fixture
def pref_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    with jlis_connection(db, FileKind.PREF) as conn:
        yield conn


@pytest.fixture
def fuhyo_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    with jlis_connection(db, FileKind.FUHYO) as conn:
        yield conn
