"""The parties of 住基ネット that talk to the prefectural servers, as certificates name them.

Pure vocabulary (no I/O): the PKI writes these into certificates (Subject OU), the servers check
them on every connection, and the per-file configuration (`juki.files`) names which national
server each file talks to.
"""

from __future__ import annotations

from enum import StrEnum


class PeerRole(StrEnum):
    """The role a certificate names (Subject OU)."""

    MUNICIPAL_CS = "municipal_cs"  # 市町村CS
    NATIONAL = "national"  # 全国サーバ
    FUHYO_NATIONAL = "fuhyo_national"  # 附票全国サーバ
    PREF_SERVER = "pref_server"  # 都道府県サーバ
    FUHYO_SERVER = "fuhyo_server"  # 附票都道府県サーバ
    TERMINAL = "terminal"  # 業務端末

    @property
    def is_server(self) -> bool:
        """Roles that accept connections: serverAuth + clientAuth and SANs; the others are clients."""
        return self in _SERVER_ROLES


_SERVER_ROLES = frozenset(
    {PeerRole.NATIONAL, PeerRole.FUHYO_NATIONAL, PeerRole.PREF_SERVER, PeerRole.FUHYO_SERVER}
)
