"""Helpers of the access tests (their fixtures are in conftest.py): the bootstrapped system's type,
operators with roles, operation-log rows, and a software WebAuthn authenticator (ES256, attestation
"none") that lets the tests drive py_webauthn's real verification with or without user
verification."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
import psycopg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from juki.config import Settings
from juki.services.access import operators, rights_ledger, terminals
from juki.services.access.actor import Actor, TerminalKind

ADMIN_PASSWORD = "correct horse battery staple"
Conn = psycopg.Connection[Any]


@dataclass
class System:
    """A bootstrapped system: the first administrator signed in at the bound 代表端末."""

    admin: Actor
    terminal: terminals.Terminal
    terminal_secret: str
    session_secret: str


def operator_with_roles(
    conn: Conn, settings: Settings, system: System, login: str, *roles: str
) -> tuple[operators.Operator, str]:
    """An operator holding `roles`: each applied for by the operator, approved by the first admin.

    Returns the operator and their (unused) enrolment token.
    """
    operator, token = operators.create_operator(conn, settings, login, f"{login} 表示名", by=system.admin)
    applicant = operators.console_actor(conn, login)
    for role in roles:
        application = rights_ledger.apply(conn, operator.id, role, "業務のため", by=applicant)
        rights_ledger.approve(conn, application, system.admin)
    return operator, token


def second_admin(conn: Conn, settings: Settings, system: System) -> Actor:
    """A second administrator (four eyes), as a console actor."""
    operator_with_roles(conn, settings, system, "admin2", "admin")
    return operators.console_actor(conn, "admin2")


def second_terminal(
    conn: Conn, settings: Settings, system: System, name: str = "業務端末2"
) -> terminals.Terminal:
    """Another registered, bound 業務端末."""
    _, token = terminals.register_terminal(conn, settings, name, TerminalKind.BUSINESS, by=system.admin)
    terminal, _ = terminals.bind(conn, token)
    return terminal


def log_rows(admin_conn: Conn, **where: Any) -> list[dict[str, Any]]:
    """Operation-log rows (as dicts), optionally filtered by column values."""
    sql = (
        "SELECT seq, operator_id, operator_login, terminal_name, session_id, function, file, outcome, target, "
        "detail, claimed_login, actor_kind FROM audit.op_log"
    )
    params: list[Any] = []
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = %s" for k in where)
        params = list(where.values())
    rows = admin_conn.execute(sql + " ORDER BY seq", params).fetchall()
    keys = (
        "seq",
        "operator_id",
        "operator_login",
        "terminal_name",
        "session_id",
        "function",
        "file",
        "outcome",
        "target",
        "detail",
        "claimed_login",
        "actor_kind",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def who(row: dict[str, Any]) -> str | None:
    """Whom a log row is about: the session's operator, or the login only claimed (somebody not
    signed in, or the console's --as) marked "claimed:" (migration 0018)."""
    if row["operator_login"] is not None:
        return str(row["operator_login"])
    return None if row["claimed_login"] is None else f"claimed:{row['claimed_login']}"


# --- a software authenticator ---------------------------------------------------------------------

UP, UV, AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    """An ES256 platform authenticator in software: attestation "none", a growing sign count."""

    rp_id: str = "localhost"
    origin: str = "https://localhost:8444"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    sign_count: int = 0

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def _client_data(self, kind: str, options_json: str, origin: str | None) -> bytes:
        challenge = json.loads(options_json)["challenge"]
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def register(self, options_json: str, *, uv: bool = True, origin: str | None = None) -> dict[str, Any]:
        """The JSON a browser would post after navigator.credentials.create()."""
        options = json.loads(options_json)
        assert options["authenticatorSelection"]["userVerification"] == "required"
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        flags = UP | AT | (UV if uv else 0)
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self.cose_key()
        )
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options_json, origin)
        return {
            "id": _b64(self.credential_id),
            "rawId": _b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "attestationObject": _b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def assert_(
        self,
        options_json: str,
        *,
        uv: bool = True,
        origin: str | None = None,
        sign_count: int | None = None,
        credential_id: bytes | None = None,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """The JSON a browser would post after navigator.credentials.get()."""
        options = json.loads(options_json)
        assert options["userVerification"] == "required"
        allowed = [base64url_to_bytes(c["id"]) for c in options.get("allowCredentials", [])]
        cred = credential_id or self.credential_id
        assert not allowed or cred in allowed or credential_id is not None
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        rp_hash = hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
        auth_data = rp_hash + bytes([UP | (UV if uv else 0)]) + struct.pack(">I", sign_count)
        client_data = self._client_data("webauthn.get", options_json, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": _b64(cred),
            "rawId": _b64(cred),
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "authenticatorData": _b64(auth_data),
                "signature": _b64(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
