"""Fixtures of the simulator tests: the PKI and a running 全国サーバ / 附票全国サーバ simulator each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from juki.peers.national import NationalKind
from juki.store.embedded import EmbeddedCluster
from tests.peers.national_support import Certs, Sim, make_pki, running_simulator


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        yield pair


@pytest.fixture
def fuhyo_national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(
        cluster, NationalKind.FUHYO_NATIONAL, certs.server_ctx(certs.fuhyo_national)
    ) as pair:
        yield pair
