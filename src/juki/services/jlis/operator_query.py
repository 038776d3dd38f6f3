"""A signed-in operator's query to J-LIS (REQUIREMENTS F1-5, F2-5, S-15, S-25, REC-4): the use case
behind the terminal's 照会 page.

:mod:`juki.services.jlis.client` talks to the 全国サーバ / 附票全国サーバ and keeps the communication
record; this module adds what an operator's use of it needs, the same as the 4情報 search:

* **Rights.** The ``jlis_query`` function of the permission matrix, per file (File 1: the
  全国サーバ, File 2: the 附票全国サーバ). No right: ``T_FORBIDDEN``, logged as deny, and nothing is
  sent — the permission is checked before the server is even looked up.
* **One operation-log row per call** (S-15): allow with the kind of key, the number of matches,
  the 住民票コード of the persons shown and the id of the communication record; a refusal is logged
  (and committed) before it is raised (services/audit/guard.py).
* **The communication record names the operator** (``Requester(actor=...)``), on a connection of
  its own (``records_conn``) so it commits whatever becomes of the log row's transaction.
* **Refusals with stable codes.** The client's errors become ``T_JLIS_*`` refusals; the J-LIS code
  (E_QUERY_CONDITIONS, E_TOO_MANY, …) is kept in the log row's detail (``cause``).
* **Only the provided items** (D1-PS / D2-PS, `FileSpec.provided_items`) of each match are returned.

Where the server is and which certificate to present come from the settings the relay uses
(JUKI_NATIONAL_URL / JUKI_FUHYO_NATIONAL_URL, the PKI directory): :func:`configured_peer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from juki.config import Settings
from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.dates import DateParseError, parse_entered_date
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.pki import Pki, client_context
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.services.jlis.client import (
    Basic4,
    JlisClient,
    JlisError,
    JlisUnavailable,
    PeerRefusedError,
    QueryConditionsError,
    SearchKeys,
    TooManyMatches,
)
from juki.services.jlis.communication_records import QueryKind, Requester
from juki.services.jlis.relay import Peer
from juki.services.search.conditions import NameMatch

__all__ = [
    "NAME_PARTS",
    "OperatorMatch",
    "OperatorQueryResult",
    "QueryInput",
    "configured_peer",
    "query",
]

#: Seconds the terminal waits for the J-LIS server before telling the operator it did not answer.
DEFAULT_TIMEOUT = 10.0


#: How much of the name a 4情報 query's kana gives: the whole name, the family or the given name.
NAME_PARTS: Final = ("full", "family", "given")


def era_code_as_date(text: str) -> str:
    """A birth date typed as a 元号コード (``3500926``) in the form J-LIS reads (``1975-09-26``), so the
    terminal takes the dates clerks type (issue 10 item 5); anything else goes as typed and J-LIS
    judges it (E_QUERY_VALUE)."""
    digits = normalize_digits(text.strip())
    if not is_ascii_digits(digits, 7):
        return text
    try:
        canonical = parse_entered_date(digits).canonical()
    except DateParseError:
        return text
    # A kept 元号 ("2019 令和") is a storage form, not a query form: J-LIS gets the typed text.
    return text if " " in canonical else canonical


@dataclass(frozen=True)
class QueryInput:
    """What the operator entered, as text: the kind of key (a `QueryKind` value) and its keys.

    For a 4情報 query: ``name_kana`` (the part of the name ``name_part`` says), ``name_match``
    (exact / prefix), ``birth_date``, ``sex`` and ``address``; blanks are absent conditions.
    """

    by: str
    juminhyo_code: str = ""
    my_number: str = ""
    name_kana: str = ""
    name_part: str = "full"
    name_match: str = NameMatch.EXACT.value
    birth_date: str = ""
    sex: str = ""
    address: str = ""

    def basic4(self) -> Basic4:
        """The 4情報 query; ``T_JLIS_INPUT`` for a name part or match the page does not offer."""
        try:
            match = NameMatch(self.name_match)
        except ValueError:
            raise Refusal("T_JLIS_INPUT", "一致方法が正しくありません") from None
        if self.name_part not in NAME_PARTS:
            raise Refusal("T_JLIS_INPUT", "氏名の区分が正しくありません")
        part = self.name_part
        return Basic4(
            name_kana=self.name_kana if part == "full" else None,
            family_kana=self.name_kana if part == "family" else None,
            given_kana=self.name_kana if part == "given" else None,
            name_match=match,
            birth_date=era_code_as_date(self.birth_date),
            sex=self.sex,
            address=self.address,
        )

    def keys(self) -> SearchKeys:
        """The client's keys; ``T_JLIS_INPUT`` for an unknown kind (only a tampered form has one)."""
        try:
            kind = QueryKind(self.by)
        except ValueError:
            raise Refusal("T_JLIS_INPUT", "照会の方法を選んでください") from None
        if kind is QueryKind.JUMINHYO_CODE:
            return SearchKeys(juminhyo_code=self.juminhyo_code)
        if kind is QueryKind.MY_NUMBER:
            return SearchKeys(my_number=self.my_number)
        return SearchKeys(basic4=self.basic4())

    def to_log(self) -> dict[str, object]:
        """What the log row says of the keys: the 4情報 as entered (like the 4情報 search; the
        住民票コード is the row's target); never the 個人番号 (the communication record keeps its hash)."""
        if self.by != QueryKind.BASIC4.value:
            return {"by": self.by}
        entered = {
            "name_kana": self.name_kana,
            "name_part": self.name_part,
            "name_match": self.name_match,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "address": self.address,
        }
        return {"by": self.by, "conditions": {k: v for k, v in entered.items() if v.strip()}}

    @property
    def target(self) -> str | None:
        if self.by != QueryKind.JUMINHYO_CODE.value:
            return None
        return self.juminhyo_code.strip() or None


@dataclass(frozen=True)
class OperatorMatch:
    """One person as J-LIS answered: the provided items only, in the data specification's order."""

    juminhyo_code: str
    items: tuple[tuple[str, Any], ...]  # (column, value) of FileSpec.provided_items


@dataclass(frozen=True)
class OperatorQueryResult:
    file: FileKind
    kind: QueryKind
    matches: tuple[OperatorMatch, ...]
    communication_record: int  # the row of <file>.jlis_query_log
    log_id: int  # the operation-log row

    @property
    def count(self) -> int:
        return len(self.matches)


def configured_peer(settings: Settings, file: FileKind) -> Peer:
    """The J-LIS server of ``file`` as configured: its URL (``settings.national_url`` /
    ``settings.fuhyo_national_url``) and the mTLS context of the file's server certificate.

    Raises ``T_JLIS_NOT_CONFIGURED`` (the detail says what is missing) when the URL is not set or
    the certificate, its key or the CA cannot be read.
    """
    spec = file_spec(file)
    server = spec.national_peer.value  # "national" / "fuhyo_national": the settings are named so
    url: str | None = getattr(settings, f"{server}_url")
    if not url:
        raise Refusal(
            "T_JLIS_NOT_CONFIGURED", f"{spec.national_label}の URL（JUKI_{server.upper()}_URL）が未設定です"
        )
    pki = Pki(settings.pki_directory, prefecture=settings.prefecture)
    name = spec.cert_name
    try:
        crl = pki.crl_path if pki.crl_path.exists() else None
        tls = client_context(pki.cert_path(name), pki.key_path(name), pki.ca_cert_path, crl)
    except (OSError, ValueError) as exc:
        raise Refusal("T_JLIS_NOT_CONFIGURED", f"証明書 {name} を読めません: {type(exc).__name__}") from None
    return Peer(url, tls)


def _refusal(exc: JlisError) -> Refusal:
    """The operator-side refusal of a J-LIS error; its J-LIS code goes to the log as ``cause``."""
    if isinstance(exc, TooManyMatches):
        return Refusal("T_JLIS_TOO_MANY")
    if isinstance(exc, QueryConditionsError):
        code = "T_JLIS_CONDITIONS" if exc.code == "E_QUERY_CONDITIONS" else "T_JLIS_INPUT"
        return Refusal(code, exc.message)
    if isinstance(exc, PeerRefusedError):
        return Refusal("T_JLIS_REFUSED", exc.code)
    if isinstance(exc, JlisUnavailable):
        return Refusal("T_JLIS_UNAVAILABLE", exc.code)
    return Refusal("T_JLIS_UNAVAILABLE", exc.code)


def query(
    conn: psycopg.Connection[Any],
    records_conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    entered: QueryInput,
    *,
    peer: Callable[[], Peer],
    timeout: float = DEFAULT_TIMEOUT,
    hash_key: bytes | None = None,
) -> OperatorQueryResult:
    """F1-5 / F2-5 for a signed-in operator: ask ``file``'s J-LIS server for the persons matching
    the keys ``entered``.

    ``conn`` (the operation log) and ``records_conn`` (the communication records) are two
    autocommit connections as the file's role. ``peer`` gives the server (:func:`configured_peer`);
    it is called only once the right is checked. Raises :class:`Refusal` — T_FORBIDDEN (deny),
    T_JLIS_CONDITIONS / T_JLIS_TOO_MANY / T_JLIS_INPUT (rejected), T_JLIS_NOT_CONFIGURED /
    T_JLIS_UNAVAILABLE / T_JLIS_REFUSED (error) — each logged and committed first.
    """
    spec = file_spec(file)
    target = entered.target
    detail = entered.to_log()
    cause: dict[str, str] = {}

    def body() -> OperatorQueryResult:
        permissions.require(actor, Function.JLIS_QUERY, file)
        keys = entered.keys()
        server = peer()
        try:
            with JlisClient(
                server,
                file,
                records_conn,
                requester=Requester(actor=actor),
                timeout=timeout,
                hash_key=hash_key,
            ) as client:
                answer = client.query(keys)
        except JlisError as exc:
            cause["jlis_code"] = exc.code
            raise _refusal(exc) from None
        matches = tuple(
            OperatorMatch(
                m.juminhyo_code,
                tuple((item, m.record.get(item)) for item in spec.provided_items if item != "juminhyo_code"),
            )
            for m in answer.matches
        )
        log_id = record_operation(
            conn,
            actor,
            function=Function.JLIS_QUERY,
            file=file,
            outcome=Outcome.ALLOW,
            target=target,
            detail={
                "event": "jlis_query",
                **detail,
                "result_count": len(matches),
                "shown": [m.juminhyo_code for m in matches],
                "communication_record": answer.log_id,
            },
        )
        return OperatorQueryResult(file, answer.kind, matches, answer.log_id, log_id)

    def on_refusal(refusal: Refusal) -> tuple[Refusal, Mapping[str, object]]:
        return refusal, {**detail, **cause}

    return guarded(
        conn,
        body,
        actor=actor,
        function=Function.JLIS_QUERY,
        event="jlis_query",
        target=target,
        file=file,
        on_refusal=on_refusal,
    )
