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
    TERMINAL_WEB = "terminal_web"  # 業務端末の画面を配信する web サーバ（サーバ専用、誰の代理でもない）
    LINE_AGENT = "line_agent"  # 回線連携の代理（依頼元の共有フォルダ側、証明書が依頼元を名指す: S-33）

    @property
    def is_server(self) -> bool:
        """Roles that accept connections: serverAuth and SANs in the certificate."""
        return self in _SERVER_ROLES or self is PeerRole.TERMINAL_WEB

    @property
    def is_client(self) -> bool:
        """Roles that may connect to another juki machine: clientAuth in the certificate.

        The terminal web server only serves browsers: its certificate has serverAuth alone, so every
        mTLS server refuses it at the handshake, and `authorize_peer` refuses the role as well.
        """
        return self is not PeerRole.TERMINAL_WEB


# Servers that are also clients of another machine (the prefectural servers call the national ones).
_SERVER_ROLES = frozenset(
    {PeerRole.NATIONAL, PeerRole.FUHYO_NATIONAL, PeerRole.PREF_SERVER, PeerRole.FUHYO_SERVER}
)
