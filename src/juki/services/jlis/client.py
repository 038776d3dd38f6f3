"""Queries to J-LIS (F1-5, F2-5): the mutual-TLS client of the national servers.

The 都道府県サーバ asks the 全国サーバ, the 附票都道府県サーバ the 附票全国サーバ, over mutual TLS
(S-42), for a person's 本人確認情報 by 住民票コード, by 個人番号 (File 1 only) or by a combination of
the 4情報 (``POST /jlis/v1/query``, answered by :mod:`juki.peers.national` in tests and demos).

* **Both sides authenticate.** The client presents the file's own certificate (``pref-server`` /
  ``fuhyo-server``); the server presents one the juki CA issued, and right after the TLS handshake —
  before one byte of the query is sent — :class:`JlisClient` checks that it names the J-LIS role of
  its file (``FileSpec.national_peer``). Another party, even with a valid certificate of another
  role, gets nothing (``E_SERVER_ROLE``).
* **Communication records (REC-4).** Every query is recorded before it is sent and completed after
  (:mod:`juki.services.jlis.communication_records`).
* **Minimum search conditions.** A 4情報 query needs a kana name (whole name, family or given part;
  exact or prefix, 清音化 rules, DOMAIN §6) and a birth date or an address (normalised, DOMAIN §8):
  :data:`~juki.services.search.conditions.JLIS_QUERY_RULES`, checked here before sending and again by
  the server; otherwise ``E_QUERY_CONDITIONS``. Over ``max_matches`` hits the answer is ``E_TOO_MANY``
  ("narrow the conditions"), never a truncated list. The keys compile to SQL in
  :mod:`juki.services.search.matcher` (the one 4情報 matcher).
* **Errors** become exceptions carrying the server's code: :class:`QueryConditionsError` (400),
  :class:`PeerRefusedError` (403, or the server failed our check), :class:`TooManyMatches` (422),
  :class:`JlisUnavailable` (no connection, timeout, 5xx). "Not found" is an empty result, not an error.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
import orjson
import psycopg
from psycopg.rows import TupleRow

from juki.domain.address import address_key
from juki.domain.codes import is_ascii_digits, is_valid_my_number, normalize_digits
from juki.domain.dates import DateParseError, parse_date
from juki.domain.kana import seion_key
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access import pki
from juki.services.jlis import communication_records as records
from juki.services.jlis.communication_records import QueryKind, Requester, keys_digest
from juki.services.jlis.relay import Peer
from juki.services.search.conditions import JLIS_QUERY_RULES, NameMatch
from juki.services.search.matcher import Basic4Keys
from juki.store.db import Database

__all__ = [
    "DEFAULT_MAX_MATCHES",
    "QUERY_PATH",
    "Basic4",
    "JlisClient",
    "JlisError",
    "JlisUnavailable",
    "Match",
    "PeerRefusedError",
    "QueryConditionsError",
    "QueryResult",
    "SearchKeys",
    "ServerRoleCheck",
    "TooManyMatches",
    "basic4_keys",
    "jlis_connection",
]

QUERY_PATH: Final = "/jlis/v1/query"
#: More hits than this is "narrow the conditions" (E_TOO_MANY), on both sides.
DEFAULT_MAX_MATCHES: Final = 100
#: The REQUIREMENTS function a direct query serves: F1-5 / F2-5 (FileSpec.requirement).
QUERY: Final = 5

# ----------------------------------------------------------------------------------------- errors


class JlisError(Exception):
    """A query that did not get an answer: a stable code, a Japanese message, the HTTP status if any."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class QueryConditionsError(JlisError):
    """The keys or conditions are not acceptable (E_QUERY_CONDITIONS, E_QUERY_VALUE, E_QUERY_KEY)."""


class TooManyMatches(JlisError):
    """More matches than allowed: narrow the conditions (E_TOO_MANY)."""


class PeerRefusedError(JlisError):
    """Authentication failed: the server refused us (E_PEER_ROLE) or we refused it (E_SERVER_ROLE)."""


class JlisUnavailable(JlisError):
    """No answer: connection or TLS failure, timeout, or a 5xx (E_CONNECT, E_TIMEOUT, E_UNAVAILABLE…)."""


# ------------------------------------------------------------------------------- 4情報 conditions


@dataclass(frozen=True)
class Basic4:
    """A 4情報 query as a person types it. Kana in hiragana, katakana or half width; any spacing."""

    name_kana: str | None = None  # the whole name (family + given; the space is ignored)
    family_kana: str | None = None
    given_kana: str | None = None
    name_match: NameMatch = NameMatch.EXACT
    birth_date: str | None = None  # any form parse_date reads; "1980" or "1980-04" search the period
    sex: str | None = None  # "1" male, "2" female
    address: str | None = None  # a prefix of the address; the prefecture and city may be left out

    def to_json(self) -> dict[str, Any]:
        """The JSON body fields (absent conditions are left out)."""
        out: dict[str, Any] = {}
        for name in ("name_kana", "family_kana", "given_kana", "birth_date", "sex", "address"):
            value = getattr(self, name)
            if value is not None and str(value).strip():
                out[name] = value
        out["name_match"] = self.name_match.value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Basic4:
        try:
            match = NameMatch(data.get("name_match") or NameMatch.EXACT)
        except ValueError:
            raise QueryConditionsError(
                "E_QUERY_VALUE", "name_match は exact または prefix を指定してください", 400
            ) from None
        values: dict[str, str | None] = {}
        for name in ("name_kana", "family_kana", "given_kana", "birth_date", "sex", "address"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise QueryConditionsError("E_QUERY_VALUE", f"{name} は文字列で指定してください", 400)
            values[name] = value
        return cls(name_match=match, **values)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def basic4_keys(query: Basic4) -> Basic4Keys:
    """Normalise a 4情報 query and enforce the minimum conditions (:data:`JLIS_QUERY_RULES`).

    Required: a kana name (whole, family or given part) AND a birth date or an address.
    Raises :class:`QueryConditionsError` (E_QUERY_CONDITIONS, or E_QUERY_VALUE for an unreadable value).
    """

    def name_key(value: str | None) -> str | None:
        return None if _blank(value) else (seion_key(value or "") or None)

    seion, family, given = name_key(query.name_kana), name_key(query.family_kana), name_key(query.given_kana)
    birth_range: tuple[int, int] | None = None
    if not _blank(query.birth_date):
        try:
            d = parse_date((query.birth_date or "").strip())
        except DateParseError as exc:
            raise QueryConditionsError("E_QUERY_VALUE", f"生年月日を読めません: {exc}", 400) from None
        if d.year is None:
            raise QueryConditionsError("E_QUERY_VALUE", "生年月日「不詳」は検索条件にできません", 400)
        if d.month is None:
            birth_range = (d.year * 10000, d.year * 10000 + 1299)
        elif d.day is None:
            low = d.year * 10000 + d.month * 100
            birth_range = (low, low + 99)
        else:
            birth_range = (d.sort_key, d.sort_key)
    sex: str | None = None
    if not _blank(query.sex):
        sex = normalize_digits((query.sex or "").strip())
        if sex not in ("1", "2"):
            raise QueryConditionsError("E_QUERY_VALUE", "性別は 1（男）または 2（女）で指定してください", 400)
    address = None if _blank(query.address) else (address_key(query.address or "") or None)
    keys = Basic4Keys(
        seion=seion,
        family=family,
        given=given,
        prefix=query.name_match is NameMatch.PREFIX,
        birth_range=birth_range,
        sex=sex,
        address=address,
    )
    if not JLIS_QUERY_RULES.met(keys.present):
        raise QueryConditionsError(JLIS_QUERY_RULES.refusal_code, JLIS_QUERY_RULES.explain(keys.present), 400)
    return keys


# ------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Match:
    """One person's 本人確認情報 as the source holds it (the J-LIS notice shape, see services.rows)."""

    juminhyo_code: str
    record: dict[str, Any]
    update_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"juminhyo_code": self.juminhyo_code, "update_seq": self.update_seq, "record": self.record}


@dataclass(frozen=True)
class QueryResult:
    """The answer of one query to J-LIS; ``log_id`` is its communication record."""

    kind: QueryKind
    matches: list[Match]
    log_id: int

    @property
    def found(self) -> bool:
        return bool(self.matches)


@dataclass(frozen=True)
class SearchKeys:
    """Exactly one of: a 住民票コード, a 個人番号 (File 1), a 4情報 combination."""

    juminhyo_code: str | None = None
    my_number: str | None = None
    basic4: Basic4 | None = None

    def __post_init__(self) -> None:
        given = sum(v is not None for v in (self.juminhyo_code, self.my_number, self.basic4))
        if given != 1:
            raise QueryConditionsError(
                "E_QUERY_KEY", "住民票コード、個人番号、4情報のいずれか一つを指定してください"
            )

    @property
    def kind(self) -> QueryKind:
        if self.juminhyo_code is not None:
            return QueryKind.JUMINHYO_CODE
        return QueryKind.MY_NUMBER if self.my_number is not None else QueryKind.BASIC4


def jlis_connection(db: Database, file: FileKind | str) -> psycopg.Connection[TupleRow]:
    """An autocommit connection as the file's own role: for the records and the local search."""
    return db.connect(file_spec(file).db_role, autocommit=True)


class ServerRoleCheck(pki.ServerRoleCheck):
    """The PKI's server-role check, answering in this module's terms (:class:`PeerRefusedError`)."""

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        try:
            super().__call__(event, info)
        except pki.ServerRoleRefused as exc:
            raise PeerRefusedError("E_SERVER_ROLE", str(exc)) from None


def _tls_failure(exc: BaseException) -> bool:
    """Whether an httpx error comes from the TLS layer (handshake refused, certificate not accepted)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) or "SSL" in type(current).__name__:
            return True
        text = str(current)
        if "CERTIFICATE" in text.upper() or "SSL" in text or "TLS" in text.upper():
            return True
        current = current.__cause__ or current.__context__
    return False


def _match(data: Any) -> Match:
    if not isinstance(data, dict) or not isinstance(data.get("juminhyo_code"), str):
        raise JlisError("E_BAD_ANSWER", "J-LIS の応答の形式が不正です")
    record = data.get("record")
    seq = data.get("update_seq")
    return Match(
        juminhyo_code=data["juminhyo_code"],
        record=record if isinstance(record, dict) else {},
        update_seq=seq if isinstance(seq, int) else None,
    )


class JlisClient:
    """Queries one J-LIS server for one file, recording each one (REC-4). Not thread-safe.

    ``conn`` is an autocommit connection as the file's role (:func:`jlis_connection`): the records
    commit on their own, whatever the caller's transaction later does. ``requester`` is who the
    records name unless a query names another one.
    """

    def __init__(
        self,
        peer: Peer,
        file: FileKind | str,
        conn: psycopg.Connection[Any],
        *,
        requester: Requester | None = None,
        timeout: float = 10.0,
        hash_key: bytes | None = None,
    ) -> None:
        if not conn.autocommit:
            raise ValueError("JlisClient needs an autocommit connection (jlis_connection)")
        self.peer = peer
        self.spec = file_spec(file)
        self.file = self.spec.kind
        self.conn = conn
        self.requester = requester or Requester()
        self.hash_key = hash_key
        self.label = self.spec.national_label
        self._check = ServerRoleCheck(self.spec.national_peer, self.label)
        # trust_env=False: an HTTP(S)_PROXY in the environment must never reroute personal queries.
        self.http = httpx.Client(
            base_url=peer.base_url, verify=peer.ssl_context, timeout=timeout, trust_env=False
        )

    def __enter__(self) -> JlisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # -- the three queries -----------------------------------------------------------------------
    # ``function`` is the number of the REQUIREMENTS function the query serves (FileSpec.requirement):
    # 5, a query to J-LIS (F1-5 / F2-5); 2, a forwarded search (F1-2 / F2-2, see local_first).
    def query_by_code(
        self, juminhyo_code: str, *, requester: Requester | None = None, function: int = QUERY
    ) -> QueryResult:
        """The person with this 住民票コード (0 or 1 match)."""
        code = normalize_digits(juminhyo_code.strip())
        if not is_ascii_digits(code, 11):
            raise QueryConditionsError("E_QUERY_VALUE", "住民票コードは 11 桁の数字です")
        keys = {"juminhyo_code": code}
        return self._query(QueryKind.JUMINHYO_CODE, keys, keys, requester, function)

    def query_by_my_number(
        self, my_number: str, *, requester: Requester | None = None, function: int = QUERY
    ) -> QueryResult:
        """The person with this 個人番号 (File 1 only: the 附票全国サーバ holds no 個人番号)."""
        if not self.spec.holds_my_number:
            raise QueryConditionsError("E_QUERY_KEY", f"{self.label}には個人番号で照会できません")
        number = normalize_digits(my_number.strip())
        if not is_valid_my_number(number):
            raise QueryConditionsError("E_QUERY_VALUE", "個人番号が不正です（12 桁、検査用数字）")
        keys = {"my_number": number}
        return self._query(QueryKind.MY_NUMBER, keys, keys, requester, function)

    def query_basic4(
        self, query: Basic4, *, requester: Requester | None = None, function: int = QUERY
    ) -> QueryResult:
        """The persons matching a 4情報 combination (minimum conditions enforced before sending)."""
        keys = basic4_keys(query)
        return self._query(QueryKind.BASIC4, query.to_json(), keys.canonical(), requester, function)

    def query(
        self, keys: SearchKeys, *, requester: Requester | None = None, function: int = QUERY
    ) -> QueryResult:
        if keys.juminhyo_code is not None:
            return self.query_by_code(keys.juminhyo_code, requester=requester, function=function)
        if keys.my_number is not None:
            return self.query_by_my_number(keys.my_number, requester=requester, function=function)
        assert keys.basic4 is not None
        return self.query_basic4(keys.basic4, requester=requester, function=function)

    # -- sending and recording -------------------------------------------------------------------
    def _query(
        self,
        kind: QueryKind,
        body: dict[str, Any],
        canonical: dict[str, Any],
        requester: Requester | None,
        function: int,
    ) -> QueryResult:
        log_id = records.start(
            self.conn,
            self.file,
            peer=self.peer.base_url,
            kind=kind,
            digest=keys_digest(kind, canonical, self.hash_key),
            requester=requester or self.requester,
            function=self.spec.requirement(function),
        )

        def finish(outcome: str, hits: int, status: int | None, error_code: str | None) -> None:
            records.finish(self.conn, self.file, log_id, outcome, hits, status, error_code)

        try:
            matches, status = self._send(kind, body)
        except JlisError as exc:
            outcome = (
                "refused"
                if isinstance(exc, QueryConditionsError | TooManyMatches | PeerRefusedError)
                else "error"
            )
            finish(outcome, 0, exc.http_status, exc.code)
            raise
        except BaseException:
            finish("error", 0, None, "E_CLIENT")
            raise
        finish("found" if matches else "not_found", len(matches), status, None)
        return QueryResult(kind=kind, matches=matches, log_id=log_id)

    def _send(self, kind: QueryKind, body: dict[str, Any]) -> tuple[list[Match], int]:
        try:
            response = self.http.post(
                QUERY_PATH,
                content=orjson.dumps({"by": kind.value, **body}),
                headers={"content-type": "application/json"},
                extensions={"trace": self._check},
            )
        except httpx.TimeoutException as exc:
            raise JlisUnavailable("E_TIMEOUT", f"{self.label}が応答しません: {exc}") from None
        except httpx.HTTPError as exc:
            if _tls_failure(exc):
                raise PeerRefusedError(
                    "E_TLS", f"{self.label}との相互認証に失敗しました: {type(exc).__name__}: {exc}"
                ) from None
            raise JlisUnavailable(
                "E_CONNECT", f"{self.label}に接続できません: {type(exc).__name__}: {exc}"
            ) from None
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status == 200:
            if kind is QueryKind.BASIC4:
                items = payload.get("matches") if isinstance(payload, dict) else None
                if not isinstance(items, list):
                    raise JlisError("E_BAD_ANSWER", "J-LIS の応答の形式が不正です", status)
                return [_match(item) for item in items], status
            return [_match(payload)], status
        code = (
            str(payload.get("code"))
            if isinstance(payload, dict) and payload.get("code")
            else f"HTTP_{status}"
        )
        message = (
            str(payload.get("message"))
            if isinstance(payload, dict) and payload.get("message")
            else response.text[:300]
        )
        if status == 404 and code == "E_NOT_FOUND":
            return [], status
        if status == 403 or status == 401:
            raise PeerRefusedError(code, message, status)
        if status == 422 and code == "E_TOO_MANY":
            raise TooManyMatches(code, message, status)
        if status == 400:
            raise QueryConditionsError(code, message, status)
        if status >= 500 or status in (408, 429):
            raise JlisUnavailable(code, message, status)
        raise JlisError(code, message, status)
