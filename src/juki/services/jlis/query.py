"""Queries to J-LIS (F1-5, F2-5) and forwarding of searches for persons of other prefectures (F1-2).

The 都道府県サーバ asks the 全国サーバ, the 附票都道府県サーバ the 附票全国サーバ, over mutual TLS
(S-42), for a person's 本人確認情報 by 住民票コード, by 個人番号 (File 1 only) or by a combination of
the 4情報 (``POST /jlis/v1/query``, answered by :mod:`juki.peers.national` in tests and demos).

* **Both sides authenticate.** The client presents the file's own certificate (``pref-server`` /
  ``fuhyo-server``); the server presents one the juki CA issued, and right after the TLS handshake —
  before one byte of the query is sent — :class:`JlisClient` checks that it names the J-LIS role of
  its file (``national`` / ``fuhyo_national``). Another party, even with a valid certificate of another
  role, gets nothing (``E_SERVER_ROLE``).
* **Communication records (REC-4).** Every query writes a row into ``<file>.jlis_query_log`` over the
  file's own DB role connection *before* it is sent (outcome ``sent``), completed afterwards with the
  outcome (found / not_found / refused / error), the number of hits, the HTTP status and the server's
  code. No personal data: the keys are kept as a hash (HMAC-SHA-256 when a key is configured, else
  SHA-256 with a domain prefix), the answer as a count. Who asked is a :class:`Caller` (operator,
  terminal and function; placeholders until the terminal UI exists).
* **Minimum search conditions.** A 4情報 query needs a kana name (whole name, family or given part;
  exact or prefix, 清音化 rules, DOMAIN §6) and a birth date or an address (normalised, DOMAIN §8);
  otherwise ``E_QUERY_CONDITIONS`` — checked here before sending and again by the server. Over
  ``max_matches`` hits the answer is ``E_TOO_MANY`` ("narrow the conditions"), never a truncated list.
* **Errors** become exceptions carrying the server's code: :class:`QueryConditionsError` (400),
  :class:`PeerRefusedError` (403, or the server failed our check), :class:`TooManyMatches` (422),
  :class:`JlisUnavailable` (no connection, timeout, 5xx). "Not found" is an empty result, not an error.

:func:`search_person` is the F1-2 flow: the prefecture's own file first (current residents only: an
ended record — 転出, 死亡 — is not a hit, the person may live elsewhere now), and only when nothing is
found there, the same keys go to the J-LIS server; the result says which source answered.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import httpx
import orjson
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, dict_row

from juki.domain.address import address_key, municipality_prefixes, strip_municipality
from juki.domain.codes import is_ascii_digits, is_valid_my_number, normalize_digits
from juki.domain.dates import DateParseError, parse_date
from juki.domain.kana import seion_key
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.services.access import pki
from juki.services.jlis.relay import Peer
from juki.services.registry.rows import fuhyo_notice, pref_notice
from juki.store.db import Database, DbRole

__all__ = [
    "DEFAULT_MAX_MATCHES",
    "QUERY_PATH",
    "Basic4",
    "Basic4Keys",
    "Caller",
    "JlisClient",
    "JlisError",
    "JlisUnavailable",
    "Match",
    "NameMatch",
    "PeerRefusedError",
    "QueryConditionsError",
    "QueryKind",
    "QueryResult",
    "SearchKeys",
    "SearchResult",
    "ServerRoleCheck",
    "Source",
    "TooManyMatches",
    "basic4_keys",
    "basic4_where",
    "jlis_connection",
    "keys_digest",
    "query_log",
    "search_local",
    "search_person",
]

QUERY_PATH: Final = "/jlis/v1/query"
#: More hits than this is "narrow the conditions" (E_TOO_MANY), on both sides.
DEFAULT_MAX_MATCHES: Final = 100
_HASH_DOMAIN: Final = b"juki/jlis-query/v1\n"


class QueryKind(StrEnum):
    JUMINHYO_CODE = "juminhyo_code"
    MY_NUMBER = "my_number"
    BASIC4 = "basic4"


class NameMatch(StrEnum):
    EXACT = "exact"  # the whole key equals (完全一致)
    PREFIX = "prefix"  # the key starts with (前方一致)


class Source(StrEnum):
    LOCAL = "local"  # the prefecture's own file
    NATIONAL = "national"  # the J-LIS server (全国サーバ / 附票全国サーバ)


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


@dataclass(frozen=True)
class Basic4Keys:
    """The search keys of a :class:`Basic4` query (the stored key columns' forms)."""

    seion: str | None  # 清音化かな of the whole name
    family: str | None
    given: str | None
    prefix: bool
    birth_range: tuple[int, int] | None  # JukiDate.sort_key bounds, inclusive
    sex: str | None
    address: str | None  # address_key

    def canonical(self) -> dict[str, Any]:
        return {
            "seion": self.seion,
            "family": self.family,
            "given": self.given,
            "prefix": self.prefix,
            "birth": list(self.birth_range) if self.birth_range else None,
            "sex": self.sex,
            "address": self.address,
        }


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def basic4_keys(query: Basic4) -> Basic4Keys:
    """Normalise a 4情報 query and enforce the minimum conditions (F1-6/F2-6 rule, also for J-LIS).

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
    if not (seion or family or given) or not (birth_range or address):
        raise QueryConditionsError(
            "E_QUERY_CONDITIONS",
            "4情報による照会には、氏名（かな）に加えて生年月日または住所の指定が必要です",
            400,
        )
    return Basic4Keys(
        seion=seion,
        family=family,
        given=given,
        prefix=query.name_match is NameMatch.PREFIX,
        birth_range=birth_range,
        sex=sex,
        address=address,
    )


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def basic4_where(
    keys: Basic4Keys, *, address_tail_column: str | None = None, prefixes: Sequence[str] | None = None
) -> tuple[sql.Composed, list[Any]]:
    """A WHERE condition over the key columns seion_kana / seion_family / seion_given / birth_key / sex /
    address_key, with its parameters.

    The address matches when the query's key is a prefix of the stored key, or of the stored key with
    its leading municipality part left out: through ``address_tail_column`` (a stored key without its
    市区町村) when the table has one — and then a query naming a municipality also matches inside the
    key ("鶴見区豊岡町" finds "横浜市鶴見区豊岡町…") — else by trying the query after each of
    ``prefixes`` (default: Kanagawa's municipality names).
    """
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("seion_kana", keys.seion),
        ("seion_family", keys.family),
        ("seion_given", keys.given),
    ):
        if value is None:
            continue
        if keys.prefix:
            parts.append(sql.SQL("{} LIKE %s").format(sql.Identifier(column)))
            params.append(_like_prefix(value))
        else:
            parts.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if keys.family is not None and keys.seion is None:
        # The family part starts the whole key: lets the (seion_kana) index serve a family search.
        parts.append(sql.SQL("seion_kana LIKE %s"))
        params.append(_like_prefix(keys.family))
    if keys.birth_range is not None:
        low, high = keys.birth_range
        if low == high:
            parts.append(sql.SQL("birth_key = %s"))
            params.append(low)
        else:
            parts.append(sql.SQL("birth_key BETWEEN %s AND %s"))
            params.extend([low, high])
    if keys.sex is not None:
        parts.append(sql.SQL("sex = %s"))
        params.append(keys.sex)
    if keys.address is not None:
        pattern = _like_prefix(keys.address)
        if address_tail_column is not None:
            alternatives = [
                sql.SQL("address_key LIKE %s"),
                sql.SQL("{} LIKE %s").format(sql.Identifier(address_tail_column)),
            ]
            params.extend([pattern, pattern])
            if strip_municipality(keys.address) != keys.address:
                # It names a municipality, maybe not from the top ("鶴見区…" of "横浜市鶴見区…").
                alternatives.append(sql.SQL("address_key LIKE %s"))
                params.append("%" + pattern)
            parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)))
        else:
            names = municipality_prefixes() if prefixes is None else prefixes
            patterns = [pattern]
            if not any(keys.address.startswith(p) for p in names):
                patterns += [_like_prefix(p + keys.address) for p in names]
            parts.append(sql.SQL("address_key LIKE ANY(%s)"))
            params.append(patterns)
    if not parts:  # basic4_keys never returns such keys; a guard against an unbounded search
        raise QueryConditionsError("E_QUERY_CONDITIONS", "検索条件がありません", 400)
    return sql.SQL(" AND ").join(parts), params


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
class Caller:
    """Who asks, for the communication record. Placeholders until the terminal UI provides them."""

    operator_id: str = "system"
    terminal_id: str = "server"
    function: str = "F1-5"


def keys_digest(kind: QueryKind, keys: Mapping[str, Any], hash_key: bytes | None = None) -> bytes:
    """The hash kept instead of the keys: HMAC-SHA-256 with ``hash_key``, else SHA-256 (domain-separated).

    Over the *normalised* keys, so the same person asked twice in different spellings gives the same hash
    and an auditor holding the keys (and the HMAC key) can find the record.
    """
    message = _HASH_DOMAIN + orjson.dumps({"kind": kind.value, "keys": keys}, option=orjson.OPT_SORT_KEYS)
    if hash_key:
        return hmac.new(hash_key, message, hashlib.sha256).digest()
    return hashlib.sha256(message).digest()


_LOG_TABLE = {
    FileKind.PREF: sql.SQL("pref.jlis_query_log"),
    FileKind.FUHYO: sql.SQL("fuhyo.jlis_query_log"),
}
_ROLE = {FileKind.PREF: DbRole.PREF, FileKind.FUHYO: DbRole.FUHYO}
_SERVER_ROLE = {FileKind.PREF: PeerRole.NATIONAL, FileKind.FUHYO: PeerRole.FUHYO_NATIONAL}
_SERVER_LABEL = {FileKind.PREF: "全国サーバ", FileKind.FUHYO: "附票全国サーバ"}


def jlis_connection(db: Database, file: FileKind | str) -> psycopg.Connection[TupleRow]:
    """An autocommit connection as the file's own role: for the records and the local search."""
    return db.connect(_ROLE[FileKind(file)], autocommit=True)


def query_log(conn: psycopg.Connection[Any], file: FileKind | str, limit: int = 100) -> list[dict[str, Any]]:
    """The newest communication records of ``file`` (newest first)."""
    rows = conn.execute(
        sql.SQL(
            """SELECT id, started_at, finished_at, peer, kind, encode(keys_sha256, 'hex') AS keys_sha256,
                      operator_id, terminal_id, function, outcome, hit_count, http_status, error_code
                 FROM {} ORDER BY id DESC LIMIT %s"""
        ).format(_LOG_TABLE[FileKind(file)]),
        (limit,),
    )
    names = [c.name for c in rows.description or []]
    return [dict(zip(names, r, strict=True)) for r in rows.fetchall()]


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
    commit on their own, whatever the caller's transaction later does.
    """

    def __init__(
        self,
        peer: Peer,
        file: FileKind | str,
        conn: psycopg.Connection[Any],
        *,
        caller: Caller | None = None,
        timeout: float = 10.0,
        hash_key: bytes | None = None,
    ) -> None:
        if not conn.autocommit:
            raise ValueError("JlisClient needs an autocommit connection (jlis_connection)")
        self.peer = peer
        self.file = FileKind(file)
        self.conn = conn
        self.caller = caller or Caller(function="F1-5" if self.file is FileKind.PREF else "F2-5")
        self.hash_key = hash_key
        self.label = _SERVER_LABEL[self.file]
        self._check = ServerRoleCheck(_SERVER_ROLE[self.file], self.label)
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
    def query_by_code(self, juminhyo_code: str, *, caller: Caller | None = None) -> QueryResult:
        """The person with this 住民票コード (0 or 1 match)."""
        code = normalize_digits(juminhyo_code.strip())
        if not is_ascii_digits(code, 11):
            raise QueryConditionsError("E_QUERY_VALUE", "住民票コードは 11 桁の数字です")
        return self._query(QueryKind.JUMINHYO_CODE, {"juminhyo_code": code}, {"juminhyo_code": code}, caller)

    def query_by_my_number(self, my_number: str, *, caller: Caller | None = None) -> QueryResult:
        """The person with this 個人番号 (File 1 only: the 附票全国サーバ holds no 個人番号)."""
        if self.file is not FileKind.PREF:
            raise QueryConditionsError("E_QUERY_KEY", "附票全国サーバには個人番号で照会できません")
        number = normalize_digits(my_number.strip())
        if not is_valid_my_number(number):
            raise QueryConditionsError("E_QUERY_VALUE", "個人番号が不正です（12 桁、検査用数字）")
        return self._query(QueryKind.MY_NUMBER, {"my_number": number}, {"my_number": number}, caller)

    def query_basic4(self, query: Basic4, *, caller: Caller | None = None) -> QueryResult:
        """The persons matching a 4情報 combination (minimum conditions enforced before sending)."""
        keys = basic4_keys(query)
        return self._query(QueryKind.BASIC4, query.to_json(), keys.canonical(), caller)

    def query(self, keys: SearchKeys, *, caller: Caller | None = None) -> QueryResult:
        if keys.juminhyo_code is not None:
            return self.query_by_code(keys.juminhyo_code, caller=caller)
        if keys.my_number is not None:
            return self.query_by_my_number(keys.my_number, caller=caller)
        assert keys.basic4 is not None
        return self.query_basic4(keys.basic4, caller=caller)

    # -- sending and recording -------------------------------------------------------------------
    def _record_start(self, kind: QueryKind, digest: bytes, caller: Caller) -> int:
        row = self.conn.execute(
            sql.SQL(
                """INSERT INTO {} (peer, kind, keys_sha256, operator_id, terminal_id, function)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"""
            ).format(_LOG_TABLE[self.file]),
            (self.peer.base_url, kind.value, digest, caller.operator_id, caller.terminal_id, caller.function),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def _record_end(
        self, log_id: int, outcome: str, hits: int, status: int | None, error_code: str | None
    ) -> None:
        self.conn.execute(
            sql.SQL(
                """UPDATE {} SET finished_at = clock_timestamp(), outcome = %s, hit_count = %s,
                          http_status = %s, error_code = %s
                    WHERE id = %s"""
            ).format(_LOG_TABLE[self.file]),
            (outcome, hits, status, error_code, log_id),
        )

    def _query(
        self, kind: QueryKind, body: dict[str, Any], canonical: dict[str, Any], caller: Caller | None
    ) -> QueryResult:
        log_id = self._record_start(kind, keys_digest(kind, canonical, self.hash_key), caller or self.caller)
        try:
            matches, status = self._send(kind, body)
        except JlisError as exc:
            outcome = (
                "refused"
                if isinstance(exc, QueryConditionsError | TooManyMatches | PeerRefusedError)
                else "error"
            )
            self._record_end(log_id, outcome, 0, exc.http_status, exc.code)
            raise
        except BaseException:
            self._record_end(log_id, "error", 0, None, "E_CLIENT")
            raise
        self._record_end(log_id, "found" if matches else "not_found", len(matches), status, None)
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


# ------------------------------------------------------------------------ forwarding (F1-2)


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


@dataclass(frozen=True)
class SearchResult:
    """Who answered and what. ``source`` is NATIONAL also when J-LIS found nobody either."""

    source: Source
    kind: QueryKind
    matches: list[Match] = field(default_factory=list)
    log_id: int | None = None  # the communication record, when J-LIS was asked

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "kind": self.kind.value,
            "count": len(self.matches),
            "matches": [m.to_dict() for m in self.matches],
            "log_id": self.log_id,
        }


_LOCAL = {
    FileKind.PREF: (sql.SQL("pref.identity_current"), sql.SQL("status = 'present'"), pref_notice),
    FileKind.FUHYO: (sql.SQL("fuhyo.fuhyo_current"), sql.SQL("status <> 'ended'"), fuhyo_notice),
}


def search_local(
    conn: psycopg.Connection[Any],
    file: FileKind | str,
    keys: SearchKeys,
    *,
    max_matches: int = DEFAULT_MAX_MATCHES,
) -> list[Match]:
    """The current residents of the prefecture's own file matching ``keys`` (ended records are not hits).

    ``conn`` is a connection as the file's role. Raises :class:`TooManyMatches` over ``max_matches``.
    """
    kind = FileKind(file)
    table, living, to_record = _LOCAL[kind]
    params: list[Any]
    if keys.juminhyo_code is not None:
        code = normalize_digits(keys.juminhyo_code.strip())
        if not is_ascii_digits(code, 11):
            raise QueryConditionsError("E_QUERY_VALUE", "住民票コードは 11 桁の数字です")
        where: sql.Composable = sql.SQL("juminhyo_code = %s")
        params = [code]
    elif keys.my_number is not None:
        if kind is not FileKind.PREF:
            raise QueryConditionsError("E_QUERY_KEY", "附票本人確認情報は個人番号で検索できません")
        number = normalize_digits(keys.my_number.strip())
        if not is_valid_my_number(number):
            raise QueryConditionsError("E_QUERY_VALUE", "個人番号が不正です（12 桁、検査用数字）")
        where, params = sql.SQL("my_number = %s"), [number]
    else:
        assert keys.basic4 is not None
        where, params = basic4_where(basic4_keys(keys.basic4))
    query = sql.SQL("SELECT * FROM {} WHERE {} AND {} ORDER BY juminhyo_code LIMIT %s").format(
        table, living, where
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, [*params, max_matches + 1]).fetchall()
    if len(rows) > max_matches:
        raise TooManyMatches(
            "E_TOO_MANY", f"該当が {max_matches} 件を超えました。検索条件を絞り込んでください"
        )
    return [Match(row["juminhyo_code"], to_record(row), row["update_seq"]) for row in rows]


def search_person(
    conn: psycopg.Connection[Any],
    client: JlisClient,
    keys: SearchKeys,
    *,
    caller: Caller | None = None,
    max_matches: int = DEFAULT_MAX_MATCHES,
) -> SearchResult:
    """F1-2: search the prefecture's own file; only when nobody is found there, ask J-LIS.

    ``conn`` is a connection as ``client.file``'s role. A local E_TOO_MANY is raised, not forwarded
    (narrowing the conditions is the answer, not another server).
    """
    local = search_local(conn, client.file, keys, max_matches=max_matches)
    if local:
        return SearchResult(Source.LOCAL, keys.kind, local)
    if caller is None:
        function = "F1-2" if client.file is FileKind.PREF else "F2-2"
        caller = Caller(client.caller.operator_id, client.caller.terminal_id, function)
    result = client.query(keys, caller=caller)
    return SearchResult(Source.NATIONAL, keys.kind, result.matches, result.log_id)
