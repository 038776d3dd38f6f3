"""The line-linkage agent's certificate (S-33): role line_agent, and the requester it may act for."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from juki.domain.peers import PeerRole
from juki.services.access.pki import Pki, peer_identity


def test_s33_a_line_agent_certificate_names_its_requester(tmp_path: Path) -> None:
    """S-33: the agent's certificate carries its requester; the server reads it from there only."""
    pki = Pki(tmp_path / "pki")
    pki.init()
    issued = pki.issue(PeerRole.LINE_AGENT, "zeimu-agent", requester="zeimu")
    identity = peer_identity(x509.load_pem_x509_certificate(issued.cert_path.read_bytes()))
    assert (identity.role, identity.name, identity.requester) == (PeerRole.LINE_AGENT, "zeimu-agent", "zeimu")
    assert PeerRole.LINE_AGENT.is_client and not PeerRole.LINE_AGENT.is_server
    with pytest.raises(ValueError, match="依頼元コード"):
        pki.issue(PeerRole.LINE_AGENT, "nobody-agent")
    with pytest.raises(ValueError, match="依頼元コード"):
        pki.issue(PeerRole.LINE_AGENT, "bad-agent", requester="Zeimu Tax")
    with pytest.raises(ValueError, match="回線連携"):
        pki.issue(PeerRole.TERMINAL, "terminal-x", requester="zeimu")
