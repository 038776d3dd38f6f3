"""生体認証 by WebAuthn (REQUIREMENTS S-01, S-02): registration and assertion ceremonies.

The operator's fingerprint or face never reaches the server: the authenticator checks it and signs
the server's challenge, asserting "user verified" (the UV flag). py_webauthn does **not** insist on
that flag unless told to, so every ceremony here asks for `user_verification=required` in the
options *and* verifies with `require_user_verification=True`; a response without UV is refused with
T_WEBAUTHN_UV_REQUIRED (an authenticator that only saw a touch is not 生体認証).

Challenges are kept server side (term.webauthn_challenges): random, single use, valid for
`CHALLENGE_SECONDS`, bound to the terminal that asked for them and, for registration, to the
enrolment token. The challenge is found again from the clientDataJSON of the response, so the web
UI carries no ceremony state of its own. The sign count is checked (a counter that does not grow
suggests a cloned authenticator).

`registration_options` / `finish_registration` are called by the enrolment page;
`authentication_options` and `check_assertion` are building blocks of `sessions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, throttle, tokens
from juki.services.access.actor import Function, Outcome
from juki.services.access.terminals import Terminal
from juki.services.audit.guard import Attempt, guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "CHALLENGE_SECONDS",
    "RP_NAME",
    "Ceremony",
    "authentication_options",
    "check_assertion",
    "finish_registration",
    "registration_options",
    "unlock_options",
]

#: How long a challenge may be answered.
CHALLENGE_SECONDS = 300
#: The relying party's name, shown by some authenticators.
RP_NAME = "住基ネット 都道府県サーバ"
_TIMEOUT_MS = 120_000
_ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
ChallengePurpose = Literal["register", "authenticate", "unlock"]
Credential = str | Mapping[str, Any]


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser: pass `options_json` to navigator.credentials.create() / get()
    (after decoding its base64url fields, as @simplewebauthn/browser or a few lines of JS do)."""

    options_json: str


@dataclass(frozen=True)
class _Challenge:
    id: int
    challenge: bytes
    operator_id: int | None
    token_id: int | None
    session_id: int | None


def _store_challenge(
    conn: psycopg.Connection[Any],
    challenge: bytes,
    purpose: ChallengePurpose,
    *,
    terminal: Terminal | None,
    operator_id: int | None = None,
    token_id: int | None = None,
    session_id: int | None = None,
) -> None:
    # Old challenges are of no use to anybody: clear them out as new ones are made.
    conn.execute("DELETE FROM term.webauthn_challenges WHERE expires_at < now() - interval '1 hour'")
    conn.execute(
        """INSERT INTO term.webauthn_challenges (challenge, purpose, operator_id, token_id, session_id,
             terminal_id, expires_at) VALUES (%s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s))""",
        (
            challenge,
            purpose,
            operator_id,
            token_id,
            session_id,
            terminal.id if terminal else None,
            CHALLENGE_SECONDS,
        ),
    )


def _consume_challenge(
    conn: psycopg.Connection[Any],
    challenge: bytes,
    purpose: ChallengePurpose,
    terminal: Terminal | None,
    attempt: Attempt,
) -> _Challenge:
    """Use the challenge up (once); T_WEBAUTHN_FAILED if unknown, used, expired or another terminal's."""
    row = conn.execute(
        """UPDATE term.webauthn_challenges SET used_at = now()
           WHERE challenge = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()
             AND terminal_id IS NOT DISTINCT FROM %s
           RETURNING id, challenge, operator_id, token_id, session_id""",
        (challenge, purpose, terminal.id if terminal else None),
    ).fetchone()
    if row is None:
        attempt.note = "challenge unknown, used, expired or issued to another terminal"
        raise Refusal("T_WEBAUTHN_FAILED")
    attempt.challenge_id = int(row[0])
    return _Challenge(int(row[0]), bytes(row[1]), row[2], row[3], row[4])


def _transports(values: list[str] | None) -> list[AuthenticatorTransport]:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(v) for v in values or [] if v in known]


def _descriptors(conn: psycopg.Connection[Any], operator_id: int) -> list[PublicKeyCredentialDescriptor]:
    rows = conn.execute(
        "SELECT credential_id, transports FROM term.webauthn_credentials WHERE operator_id = %s ORDER BY id",
        (operator_id,),
    ).fetchall()
    return [PublicKeyCredentialDescriptor(id=bytes(r[0]), transports=_transports(list(r[1]))) for r in rows]


# --- registration (enrolment) ----------------------------------------------------------------------


def registration_options(
    conn: psycopg.Connection[Any],
    settings: Settings,
    enrolment_token: str,
    *,
    terminal: Terminal | None = None,
) -> Ceremony:
    """Start registering an authenticator for the operator of a valid enrolment token.

    T_ENROLMENT_INVALID if the token is unknown, used or expired (the token is not used up here).
    """
    with conn.transaction():
        operator, _ = operators.enrolment_operator(conn, enrolment_token)
        token = tokens.peek(conn, enrolment_token, "enrol_operator")
        handle = conn.execute(
            "SELECT webauthn_user_handle FROM term.operators WHERE id = %s", (operator.id,)
        ).fetchone()
        assert handle is not None
        options = generate_registration_options(
            rp_id=settings.webauthn_rp_id,
            rp_name=RP_NAME,
            user_name=operator.login,
            user_id=bytes(handle[0]),
            user_display_name=operator.display_name,
            timeout=_TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.DISCOURAGED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=_descriptors(conn, operator.id),
            supported_pub_key_algs=_ALGORITHMS,
        )
        _store_challenge(
            conn, options.challenge, "register", terminal=terminal, operator_id=operator.id, token_id=token.id
        )
    return Ceremony(options_to_json(options))


def _registration_refusal(parsed: RegistrationCredential, exc: Exception, attempt: Attempt) -> Refusal:
    attempt.note = str(exc)
    try:
        flags = parse_attestation_object(parsed.response.attestation_object).auth_data.flags
    except Exception:
        return Refusal("T_WEBAUTHN_FAILED")
    return Refusal("T_WEBAUTHN_UV_REQUIRED") if not flags.uv else Refusal("T_WEBAUTHN_FAILED")


def finish_registration(
    conn: psycopg.Connection[Any],
    settings: Settings,
    enrolment_token: str,
    credential: Credential,
    *,
    label: str = "",
    terminal: Terminal | None = None,
) -> operators.Operator:
    """Verify the authenticator's attestation and store the credential; uses the token up.

    Refusals: T_ENROLMENT_INVALID, T_WEBAUTHN_UV_REQUIRED (no user verification),
    T_WEBAUTHN_FAILED (anything else: wrong challenge, origin, RP ID, malformed response, a
    credential already registered). The challenge is used up either way.
    """
    attempt = Attempt()

    def body() -> operators.Operator:
        token = tokens.peek(conn, enrolment_token, "enrol_operator")
        assert token.operator_id is not None
        operator = operators.get_operator(conn, token.operator_id)
        attempt.operator_id, attempt.operator_login = operator.id, operator.login
        if not operator.active:
            raise Refusal("T_ENROLMENT_INVALID")
        try:
            parsed = parse_registration_credential_json(
                credential if isinstance(credential, str) else dict(credential)
            )
            client = parse_client_data_json(parsed.response.client_data_json)
        except WebAuthnException as exc:
            attempt.note = str(exc)
            raise Refusal("T_WEBAUTHN_FAILED") from None
        challenge = _consume_challenge(conn, client.challenge, "register", terminal, attempt)
        if challenge.token_id != token.id:
            attempt.note = "challenge issued for another enrolment"
            raise Refusal("T_WEBAUTHN_FAILED")
        try:
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=challenge.challenge,
                expected_rp_id=settings.webauthn_rp_id,
                expected_origin=settings.webauthn_origin,
                require_user_presence=True,
                require_user_verification=True,
                supported_pub_key_algs=_ALGORITHMS,
            )
        except (InvalidRegistrationResponse, WebAuthnException) as exc:
            raise _registration_refusal(parsed, exc, attempt) from None
        if not verified.user_verified:  # belt and braces: never store a credential enrolled without UV
            raise Refusal("T_WEBAUTHN_UV_REQUIRED")
        exists = conn.execute(
            "SELECT 1 FROM term.webauthn_credentials WHERE credential_id = %s", (verified.credential_id,)
        ).fetchone()
        if exists is not None:
            attempt.note = "credential already registered"
            raise Refusal("T_WEBAUTHN_FAILED")
        transports = [t.value for t in parsed.response.transports or []]
        conn.execute(
            """INSERT INTO term.webauthn_credentials (operator_id, credential_id, public_key, sign_count,
                 transports, aaguid, label) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (
                operator.id,
                verified.credential_id,
                verified.credential_public_key,
                verified.sign_count,
                transports,
                verified.aaguid,
                label.strip()[:64],
            ),
        )
        tokens.redeem(conn, enrolment_token, "enrol_operator")
        record_operation(
            conn,
            None,
            function=Function.SIGN_IN,
            file=None,
            outcome=Outcome.ALLOW,
            target=operator.login,
            detail={"event": "enrol_webauthn", "operator": operator.id, "aaguid": verified.aaguid},
            claimed_login=operator.login,
            terminal_id=terminal.id if terminal else None,
        )
        return operators.get_operator(conn, operator.id)

    result: operators.Operator = guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event="enrol_webauthn",
        terminal_id=terminal.id if terminal else None,
        attempt=attempt,
        on_refusal=operators.failure_handler(conn, settings, attempt, count_failures=False),
    )
    return result


# --- authentication ---------------------------------------------------------------------------------


def _request_options(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    purpose: ChallengePurpose,
    operator_id: int | None,
    session_id: int | None = None,
    *,
    login: str | None = None,
) -> Ceremony:
    allowed = _descriptors(conn, operator_id) if operator_id is not None else []
    if not allowed and login is not None:
        allowed = _stand_in_descriptors(conn, login)
    options = generate_authentication_options(
        rp_id=settings.webauthn_rp_id,
        timeout=_TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _store_challenge(
        conn, options.challenge, purpose, terminal=terminal, operator_id=operator_id, session_id=session_id
    )
    return Ceremony(options_to_json(options))


def _stand_in_descriptors(conn: psycopg.Connection[Any], login: str) -> list[PublicKeyCredentialDescriptor]:
    """One credential for an ID without any (unknown, disabled, or enrolled without WebAuthn): its ID
    derived from the ID typed and the server secret (`throttle.fake_credential_ids`), its length and
    transports those of the newest real credential, so the options look like a real operator's and
    are the same on every request (hardening 12)."""
    newest = conn.execute(
        """SELECT octet_length(credential_id), transports FROM term.webauthn_credentials
           ORDER BY id DESC LIMIT 1"""
    ).fetchone()
    length, transports = (int(newest[0]), list(newest[1])) if newest else (32, ["internal"])
    return [
        PublicKeyCredentialDescriptor(id=fake, transports=_transports(transports))
        for fake in throttle.fake_credential_ids(conn, login, 1, length)
    ]


def authentication_options(
    conn: psycopg.Connection[Any], settings: Settings, terminal: Terminal, login: str
) -> Ceremony:
    """Start a sign-in with 生体認証 for the ID typed (S-02: ID + biometrics).

    An ID with no usable credential — unknown, disabled, or without an authenticator — gets options
    listing a stand-in credential derived from the ID (`_stand_in_descriptors`), so this step does
    not tell whether an ID exists (hardening 12); the sign-in then fails like a wrong key.
    """
    with conn.transaction():
        try:
            found: operators.Operator | None = operators.get_operator(conn, login)
        except Refusal:
            found = None
        operator_id = found.id if found is not None and found.active else None
        return _request_options(conn, settings, terminal, "authenticate", operator_id, login=login)


def unlock_options(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    *,
    operator_id: int,
    session_id: int,
) -> Ceremony:
    """Options to re-authenticate the operator of an idle-locked session (S-04); for `sessions`."""
    with conn.transaction():
        return _request_options(conn, settings, terminal, "unlock", operator_id, session_id)


def _assertion_refusal(parsed: AuthenticationCredential, exc: Exception, attempt: Attempt) -> Refusal:
    attempt.note = str(exc)
    try:
        flags = parse_authenticator_data(parsed.response.authenticator_data).flags
    except Exception:
        return Refusal("T_WEBAUTHN_FAILED")
    return Refusal("T_WEBAUTHN_UV_REQUIRED") if flags.up and not flags.uv else Refusal("T_WEBAUTHN_FAILED")


def check_assertion(
    conn: psycopg.Connection[Any],
    settings: Settings,
    terminal: Terminal,
    credential: Credential,
    attempt: Attempt,
    *,
    purpose: Literal["authenticate", "unlock"],
    operator_id: int | None,
    session_id: int | None = None,
) -> operators.Operator:
    """Verify an assertion by `operator_id`'s authenticator, inside the caller's transaction.

    Raises T_WEBAUTHN_FAILED, T_WEBAUTHN_UV_REQUIRED or T_AUTH_LOCKED; on success updates the sign
    count and resets the failure count. Callers pass `operators.failure_handler` as the refusal
    handler so failures count towards the lockout and the challenge stays used.
    """
    attempt.operator_id = operator_id
    try:
        parsed = parse_authentication_credential_json(
            credential if isinstance(credential, str) else dict(credential)
        )
        client = parse_client_data_json(parsed.response.client_data_json)
    except WebAuthnException as exc:
        attempt.note = str(exc)
        raise Refusal("T_WEBAUTHN_FAILED") from None
    challenge = _consume_challenge(conn, client.challenge, purpose, terminal, attempt)
    if operator_id is None or challenge.operator_id != operator_id or challenge.session_id != session_id:
        attempt.note = "challenge issued for another operator or session"
        raise Refusal("T_WEBAUTHN_FAILED")
    row = conn.execute(
        """SELECT id, operator_id, public_key, sign_count FROM term.webauthn_credentials
           WHERE credential_id = %s""",
        (parsed.raw_id,),
    ).fetchone()
    if row is None or int(row[1]) != operator_id:
        attempt.note = "credential not registered to this operator"
        raise Refusal("T_WEBAUTHN_FAILED")
    operator = operators.get_operator(conn, operator_id)
    if not operator.active:
        raise Refusal("T_WEBAUTHN_FAILED")
    if operator.locked_at is not None:
        raise Refusal("T_AUTH_LOCKED")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge.challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_origin,
            credential_public_key=bytes(row[2]),
            credential_current_sign_count=int(row[3]),
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, WebAuthnException) as exc:
        raise _assertion_refusal(parsed, exc, attempt) from None
    if not verified.user_verified:  # belt and braces, see the module docstring
        raise Refusal("T_WEBAUTHN_UV_REQUIRED")
    conn.execute(
        "UPDATE term.webauthn_credentials SET sign_count = %s, last_used_at = now() WHERE id = %s",
        (verified.new_sign_count, int(row[0])),
    )
    operators.record_success(conn, operator)
    return operator
