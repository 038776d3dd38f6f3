"""Simulators of the 全国サーバ and the 附票全国サーバ (J-LIS side), each a real mTLS HTTP server.

They are *another organisation's* systems: each keeps its own copy in its own PostgreSQL database (given
by a conninfo; the simulator creates its schema itself, juki's migrations know nothing of it) and
trusts nothing but the certificate of its caller:

* ``POST /jlis/v1/notices`` — a notice from the prefectural server (the outbox payload), with the header
  ``Idempotency-Key``. Deduplicated by key: a redelivery is answered ``duplicate`` and changes nothing
  (the same key with another content is 422 ``E_IDEMPOTENCY_MISMATCH``). The person's copy is replaced
  only when the notice's ``update_seq`` (更新順番号) is newer than the one held, so a redelivered or
  reordered old notice never regresses it (``stale``). 200 ``{"status": "applied"|"duplicate"|"stale"}``.
* ``POST /jlis/v1/notices:batch`` — several notices in one request: a JSON list of
  ``{"idempotency_key", "notice"}`` (at most :data:`MAX_BATCH_ITEMS`), handled in the order given, each
  answered as the single endpoint would have: ``{"idempotency_key", "status": "applied"|"duplicate"|
  "stale", "update_seq"}`` or ``{"idempotency_key", "status": "error", "http_status", "code",
  "message"}``. Same role check (403 for the whole request). The outbox relay uses it.
* ``POST /jlis/v1/query`` — ``{"by": "juminhyo_code" | "my_number" | "basic4", …}`` (``by`` may be left
  out when the key says it). By 住民票コード, or by 個人番号 (全国サーバ only): the copy of one person,
  404 ``E_NOT_FOUND`` when unknown. By 4情報 (``basic4``): ``name_kana`` / ``family_kana`` /
  ``given_kana`` (清音化 rules, ``name_match`` exact or prefix), ``birth_date`` (a year or a month
  searches the period), ``sex``, ``address`` (a normalised prefix; the prefecture and the city may be
  left out); at least a name and a birth date or an address, else 400 ``E_QUERY_CONDITIONS`` (the rule
  of :func:`juki.services.jlis.client.basic4_keys`, compiled by the one 4情報 matcher
  :mod:`juki.services.search.matcher`); ``{"count", "matches": […]}`` of living persons
  (``include_ended`` for all), or 422 ``E_TOO_MANY`` over ``max_matches``. The 附票全国サーバ never
  answers with a 個人番号.

J-LIS holds every prefecture's residents: besides the copies the notices build, :meth:`seed_other_prefectures`
adds a synthetic population of persons living in other prefectures (Tokyo, Osaka, Hokkaido, Aichi,
Fukuoka; real 全国地方公共団体コード, synthetic towns), whose 住民票コード and 個人番号 come from the
synth bijections at indices from :data:`OTHER_PREF_INDEX_BASE`, a range no Kanagawa population or
change stream of the same seed uses — so they never collide with Kanagawa's persons. Every copy carries
search keys (清音化かな, birth-date sort key, sex, address key) computed with the domain's functions.

Only the matching prefectural server is served (S-42): the 全国サーバ answers a certificate of role
``pref_server``, the 附票全国サーバ one of role ``fuhyo_server``; any other role gets 403 ``E_PEER_ROLE``
before anything is read or stored. A client without a certificate, or with a revoked one (the server
context loads the CRL), never gets past the TLS handshake. The 附票全国サーバ refuses a notice carrying
a 個人番号 (File 2 never holds one). Every error is JSON ``{"code", "message"}``, never a stack trace.

``fail_mode`` lets tests make the server answer 503 for the next N notices (or always), so the relay's
retry, backoff and dead-letter paths run against the real server; in a batch it fails items (notices),
each answered ``error`` with that status.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

import orjson
import psycopg
import uvicorn
from fastapi import Body, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from juki.domain.address import address_key, strip_municipality
from juki.domain.codes import lg_code_check_digit
from juki.domain.dates import DateParseError, parse_date
from juki.domain.derive import name_keys
from juki.domain.records import PREF_CSV_COLUMNS
from juki.files import FileSpec, all_files
from juki.interfaces.tls_server import ContextSource, server_config
from juki.peers.tls import RunningServer, peer_cert_der, run_server_in_thread
from juki.services.access.pki import PeerIdentity, authorize_peer
from juki.services.jlis.client import DEFAULT_MAX_MATCHES, Basic4, QueryConditionsError, basic4_keys
from juki.services.search.conditions import JLIS_QUERY_RULES
from juki.services.search.matcher import basic4_where
from juki.synth import make_person
from juki.synth.draw import Draw

log = logging.getLogger(__name__)

_JUMINHYO = re.compile(r"[0-9]{11}")
_MY_NUMBER = re.compile(r"[0-9]{12}")
_MAX_KEY = 200

#: First synth person index of the other prefectures' population. The 住民票コード bijection covers
#: 0 .. 10**10 - 1; Kanagawa populations and change streams use indices below 9e9 and the change
#: generator's "unknown person" range 9.0e9 .. 9.1e9, so 9.5e9 .. 10**10 is free for J-LIS's persons.
OTHER_PREF_INDEX_BASE: Final = 9_500_000_000
_OTHER_PREF_INDEX_SPAN: Final = 500_000_000

# Municipalities of other prefectures (public 全国地方公共団体コード without the check digit) and how
# addresses there begin. Town names are synthetic.
_OTHER_MUNICIPALITIES: Final[tuple[tuple[str, str], ...]] = (
    ("13101", "東京都千代田区"),
    ("13104", "東京都新宿区"),
    ("13112", "東京都世田谷区"),
    ("13113", "東京都渋谷区"),
    ("27127", "大阪府大阪市北区"),
    ("27128", "大阪府大阪市中央区"),
    ("01101", "北海道札幌市中央区"),
    ("23106", "愛知県名古屋市中区"),
    ("40132", "福岡県福岡市博多区"),
)
_OTHER_TOWNS: Final = ("桜町", "緑が丘", "本町", "若葉台", "旭町", "栄町", "港町", "東町", "西原", "南台")
_KANJI: Final = "〇一二三四五六七八九"
_PREF_COLUMN: Final = {name: i for i, name in enumerate(PREF_CSV_COLUMNS)}
_BASIC4_FIELDS: Final = ("name_kana", "family_kana", "given_kana", "birth_date", "sex", "address")


def other_prefecture_person(seed: int, number: int) -> dict[str, Any]:
    """Person ``number`` (0, 1, …) of the other prefectures' synthetic population ``seed``, as a File 1
    notice-shaped record (the 附票全国サーバ keeps it without the 個人番号). Deterministic."""
    if not 0 <= number < _OTHER_PREF_INDEX_SPAN:
        raise ValueError(f"person number out of range: {number}")
    index = OTHER_PREF_INDEX_BASE + number
    row = make_person(seed, index).pref_current
    d = Draw(f"other-prefectures/{seed}/{number}")
    code5, prefix = d.pick(_OTHER_MUNICIPALITIES)
    town = d.pick(_OTHER_TOWNS)
    chome, ban, go = 1 + d.below(5), 1 + d.below(30), 1 + d.below(20)
    chome_text = _KANJI[chome] if d.below(2) else str(chome)
    return {
        "file": "pref",
        "juminhyo_code": row[_PREF_COLUMN["juminhyo_code"]],
        "name_kanji": row[_PREF_COLUMN["name_kanji"]],
        "name_kana": row[_PREF_COLUMN["name_kana"]],
        "birth_date": row[_PREF_COLUMN["birth_date"]],
        "sex": row[_PREF_COLUMN["sex"]],
        "address": f"{prefix}{town}{chome_text}丁目{ban}番{go}号",
        "my_number": row[_PREF_COLUMN["my_number"]],
        "change_reason": row[_PREF_COLUMN["change_reason"]],
        "change_date": row[_PREF_COLUMN["change_date"]],
        "municipality_code": code5 + lg_code_check_digit(code5),
        "status": "present",
        "end_kind": None,
        "old_juminhyo_code": None,
        "update_seq": 0,
    }


def _as_fuhyo(person: dict[str, Any]) -> dict[str, Any]:
    """The 附票全国サーバ's copy of an other-prefecture person: File 2 items, never a 個人番号."""
    return {
        "file": "fuhyo",
        "juminhyo_code": person["juminhyo_code"],
        "name_kanji": person["name_kanji"],
        "name_kana": person["name_kana"],
        "birth_date": person["birth_date"],
        "sex": person["sex"],
        "address_municipality_code": person["municipality_code"],
        "address": person["address"],
        "last_address": "",
        "change_date": person["change_date"],
        "old_juminhyo_code": "",
        "fuhyo_municipality_code": person["municipality_code"],
        "status": "domestic",
        "notification_kind": "記載",
        "update_seq": 0,
    }


def search_keys_of(record: dict[str, Any]) -> tuple[str, str, str, int, str, str, str]:
    """(seion_kana, seion_family, seion_given, birth_key, sex, address_key, address_tail) of a copy.

    Tolerant: a notice lacking an item gets an empty key (it is then found by its codes only).
    """
    kana = record.get("name_kana")
    names = name_keys(kana) if isinstance(kana, str) else None
    birth_key = 0
    birth = record.get("birth_date")
    if isinstance(birth, str) and birth:
        try:
            birth_key = parse_date(birth).sort_key
        except DateParseError:
            birth_key = 0
    sex = record.get("sex")
    address = record.get("address")
    key = address_key(address) if isinstance(address, str) else ""
    return (
        names.seion if names else "",
        names.family if names else "",
        names.given if names else "",
        birth_key,
        sex if isinstance(sex, str) else "",
        key,
        strip_municipality(key) if key else "",
    )


class NationalKind(StrEnum):
    """Which J-LIS server a simulator plays."""

    NATIONAL = "national"  # 全国サーバ: File 1 notices from the 都道府県サーバ
    FUHYO_NATIONAL = "fuhyo_national"  # 附票全国サーバ: File 2 notices from the 附票都道府県サーバ


def _file_of(kind: NationalKind) -> FileSpec:
    """The file a J-LIS server holds: the one whose national server it is (juki's per-file settings)."""
    return next(spec for spec in all_files() if spec.national_peer.value == kind.value)


class ApiError(Exception):
    """An answer other than 200: HTTP status, stable code, Japanese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class FailMode:
    """Test knob: answer the next ``n`` notices (or every one) with ``status`` instead of handling them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._always = False
        self._status = 503
        self.injected = 0  # how many requests were failed on purpose

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._remaining, self._always, self._status = n, False, status

    def fail_always(self, status: int = 503) -> None:
        with self._lock:
            self._remaining, self._always, self._status = 0, True, status

    def clear(self) -> None:
        with self._lock:
            self._remaining, self._always = 0, False

    def take(self) -> int | None:
        """The status to fail this request with, or None to handle it normally."""
        with self._lock:
            if self._always:
                self.injected += 1
                return self._status
            if self._remaining > 0:
                self._remaining -= 1
                self.injected += 1
                return self._status
            return None


class QueryRequest(BaseModel):
    """``by`` and its key: 住民票コード, 個人番号 (全国サーバ only) or a 4情報 combination."""

    by: Literal["juminhyo_code", "my_number", "basic4"] | None = None
    juminhyo_code: str | None = None
    my_number: str | None = None
    name_kana: str | None = None
    family_kana: str | None = None
    given_kana: str | None = None
    name_match: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    address: str | None = None
    include_ended: bool = False


class QueryAnswer(BaseModel):
    juminhyo_code: str
    update_seq: int
    record: dict[str, Any]


class QueryMatches(BaseModel):
    """The answer of a 4情報 query: every match (never more than the server's cap)."""

    count: int
    matches: list[QueryAnswer]


class NoticeAnswer(BaseModel):
    status: str  # applied / duplicate / stale
    update_seq: int  # the 更新順番号 the copy holds now


#: Most notices one ``POST /jlis/v1/notices:batch`` may carry.
MAX_BATCH_ITEMS: Final = 1000


class BatchItem(BaseModel):
    """One notice of a batch: what the single endpoint takes as header and body."""

    idempotency_key: str | None = None
    notice: dict[str, Any]


class BatchItemAnswer(BaseModel):
    """One item's answer: applied / duplicate / stale (with ``update_seq``), or ``error`` with the HTTP
    status and code the single endpoint would have answered."""

    idempotency_key: str | None = None
    status: str
    update_seq: int | None = None
    http_status: int | None = None
    code: str | None = None
    message: str | None = None


class BatchAnswer(BaseModel):
    results: list[BatchItemAnswer]  # one per item, in the order sent


def _authenticated(request: Request) -> PeerIdentity:
    """The caller's identity when its certificate names the role this simulator serves; 403 otherwise.

    A dependency of every endpoint, so it runs before the body is used: a wrong role learns nothing and
    stores nothing. (Module level: FastAPI resolves the string annotations against module globals.)
    """
    simulator: NationalSimulator = request.app.state.simulator
    try:
        return authorize_peer(peer_cert_der(request.scope), {simulator.spec.server_peer})
    except PermissionError as exc:
        raise ApiError(403, "E_PEER_ROLE", str(exc)) from None


AuthenticatedPeer = Annotated[PeerIdentity, Depends(_authenticated)]


class NationalSimulator:
    """One J-LIS server: its database copy, its FastAPI app, its failure knob."""

    def __init__(self, kind: NationalKind | str, conninfo: str) -> None:
        self.kind = NationalKind(kind)
        self.spec = _file_of(self.kind)  # the file it holds (what it accepts, whom it serves)
        self.label = self.spec.national_label
        self.schema = self.kind.value
        self.fail_mode = FailMode()
        self.max_matches = DEFAULT_MAX_MATCHES  # over this many 4情報 matches: 422 E_TOO_MANY
        # Autocommit connections shared by the server's worker threads.
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            conninfo,
            kwargs={"autocommit": True, "application_name": "juki-sim:jlis"},
            min_size=1,
            max_size=10,
            open=True,
        )
        self.setup()
        self.app = self._build_app()

    # -- storage ---------------------------------------------------------------------------------
    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=sql.Identifier(self.schema))

    def setup(self) -> None:
        """Create the simulator's own tables (idempotent): its copy, the keys seen, every request."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            conn.execute(
                self._q(
                    """CREATE TABLE IF NOT EXISTS {s}.person (
                         juminhyo_code text PRIMARY KEY,
                         update_seq    bigint NOT NULL,
                         my_number     text,
                         record        jsonb NOT NULL,
                         updated_at    timestamptz NOT NULL DEFAULT now())"""
                )
            )
            conn.execute(
                self._q(
                    "CREATE INDEX IF NOT EXISTS person_my_number ON {s}.person (my_number)"
                    " WHERE my_number IS NOT NULL"
                )
            )
            # Search keys for the 4情報 query, and where the copy came from (notice / synthetic).
            conn.execute(
                self._q(
                    """ALTER TABLE {s}.person
                         ADD COLUMN IF NOT EXISTS seion_kana   text COLLATE "C" NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS seion_family text COLLATE "C" NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS seion_given  text COLLATE "C" NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS birth_key    integer NOT NULL DEFAULT 0,
                         ADD COLUMN IF NOT EXISTS sex          text NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS address_key  text COLLATE "C" NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS address_tail text COLLATE "C" NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS origin       text NOT NULL DEFAULT 'notice'"""
                )
            )
            for column in ("seion_kana", "seion_given", "birth_key", "address_key", "address_tail"):
                conn.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {s}.person ({c})").format(
                        i=sql.Identifier(f"person_{column}"),
                        s=sql.Identifier(self.schema),
                        c=sql.Identifier(column),
                    )
                )
            conn.execute(
                self._q(
                    """CREATE TABLE IF NOT EXISTS {s}.received_notice (
                         idempotency_key text PRIMARY KEY,
                         juminhyo_code   text NOT NULL,
                         update_seq      bigint NOT NULL,
                         payload_sha256  bytea NOT NULL,
                         outcome         text NOT NULL,
                         peer            text NOT NULL,
                         received_at     timestamptz NOT NULL DEFAULT now())"""
                )
            )
            conn.execute(
                self._q(
                    """CREATE TABLE IF NOT EXISTS {s}.request_log (
                         id              bigserial PRIMARY KEY,
                         idempotency_key text NOT NULL,
                         outcome         text NOT NULL,
                         peer            text NOT NULL,
                         at              timestamptz NOT NULL DEFAULT clock_timestamp())"""
                )
            )

    def close(self) -> None:
        self._pool.close()

    def copy(self) -> dict[str, dict[str, Any]]:
        """The simulator's copy: 住民票コード → {"update_seq", "record"}."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                self._q("SELECT juminhyo_code, update_seq, record FROM {s}.person")
            ).fetchall()
        return {code: {"update_seq": seq, "record": record} for code, seq, record in rows}

    def seed_other_prefectures(self, count: int, seed: int = 1) -> int:
        """Add persons 0 .. count-1 of the other prefectures' population ``seed`` (idempotent).

        Use the seed of the Kanagawa population so the codes cannot collide with it (see
        :data:`OTHER_PREF_INDEX_BASE`). Returns how many synthetic persons the copy holds now.
        """
        if not 0 <= count <= _OTHER_PREF_INDEX_SPAN:
            raise ValueError(f"count out of range: {count}")
        insert = self._q(
            """INSERT INTO {s}.person (juminhyo_code, update_seq, my_number, record, seion_kana,
                   seion_family, seion_given, birth_key, sex, address_key, address_tail, origin)
               VALUES (%s, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'synthetic')
               ON CONFLICT (juminhyo_code) DO NOTHING"""
        )
        batch: list[tuple[Any, ...]] = []
        with self._pool.connection() as conn:
            for number in range(count):
                person = other_prefecture_person(seed, number)
                if not self.spec.holds_my_number:
                    person = _as_fuhyo(person)
                my_number = person.get("my_number") if self.spec.holds_my_number else None
                batch.append((person["juminhyo_code"], my_number, Jsonb(person), *search_keys_of(person)))
                if len(batch) >= 1000 or number == count - 1:
                    with conn.transaction(), conn.cursor() as cur:
                        cur.executemany(insert, batch)
                    batch.clear()
            row = conn.execute(
                self._q("SELECT count(*) FROM {s}.person WHERE origin = 'synthetic'")
            ).fetchone()
        return int(row[0]) if row else 0

    def request_log(self) -> list[tuple[str, str]]:
        """Every notice handled (past authentication and the fail switch), in order: (key, outcome)."""
        with self._pool.connection() as conn:
            rows = conn.execute(self._q("SELECT idempotency_key, outcome FROM {s}.request_log ORDER BY id"))
            return [(str(k), str(o)) for k, o in rows.fetchall()]

    def received_keys(self) -> list[str]:
        return [key for key, _ in self.request_log()]

    # -- handling --------------------------------------------------------------------------------
    def _check_notice(self, key: str | None, notice: dict[str, Any]) -> tuple[str, str, int]:
        if not key or len(key) > _MAX_KEY:
            raise ApiError(400, "E_IDEMPOTENCY_KEY", "Idempotency-Key ヘッダーがない、または長すぎます")
        if notice.get("file") != self.spec.value:
            raise ApiError(
                400,
                "E_WRONG_FILE",
                f"{self.label}は file={self.spec.value} の通知だけを受け付けます",
            )
        code = notice.get("juminhyo_code")
        if not isinstance(code, str) or not _JUMINHYO.fullmatch(code):
            raise ApiError(400, "E_BAD_NOTICE", "住民票コードが不正です")
        seq = notice.get("update_seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ApiError(400, "E_BAD_NOTICE", "更新順番号（update_seq）が不正です")
        if not self.spec.holds_my_number and notice.get("my_number") is not None:
            raise ApiError(
                400, "E_MY_NUMBER_NOT_ALLOWED", "附票全国サーバへの通知に個人番号を含めることはできません"
            )
        return key, code, seq

    def receive_notice(self, key: str | None, notice: dict[str, Any], peer: PeerIdentity) -> NoticeAnswer:
        key, code, seq = self._check_notice(key, notice)
        with self._pool.connection() as conn, conn.transaction():
            outcome, held = self._store_notice(conn, key, code, seq, notice, peer)
        if outcome == "mismatch":
            raise ApiError(
                422, "E_IDEMPOTENCY_MISMATCH", f"Idempotency-Key {key} は別の内容の通知で使われています"
            )
        return NoticeAnswer(status=outcome, update_seq=held)

    def receive_batch(self, items: list[BatchItem], peer: PeerIdentity) -> BatchAnswer:
        """Several notices in one request, handled in the order given, each answered on its own.

        Each item gets what a single ``POST /jlis/v1/notices`` would have answered: applied / duplicate /
        stale, or ``error`` with the HTTP status and code the single endpoint would have used (the
        ``fail_mode`` knob counts notices, so it fails items, not the whole request). The valid items
        are stored in one transaction."""
        if not items:
            raise ApiError(400, "E_BATCH_EMPTY", "通知が1件も含まれていません")
        if len(items) > MAX_BATCH_ITEMS:
            raise ApiError(413, "E_BATCH_TOO_MANY", f"一括通知は {MAX_BATCH_ITEMS} 件までです")
        answers: list[BatchItemAnswer | None] = [None] * len(items)
        valid: list[tuple[int, str, str, int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            try:
                self.injected_failure()
                key, code, seq = self._check_notice(item.idempotency_key, item.notice)
            except ApiError as exc:
                answers[index] = BatchItemAnswer(
                    idempotency_key=item.idempotency_key,
                    status="error",
                    http_status=exc.status,
                    code=exc.code,
                    message=exc.message,
                )
                continue
            valid.append((index, key, code, seq, item.notice))
        if valid:
            with self._pool.connection() as conn, conn.transaction():
                stored = self._store_many(
                    conn, [(key, code, seq, notice) for _, key, code, seq, notice in valid], peer
                )
                for (index, key, _, _, _), (outcome, held) in zip(valid, stored, strict=True):
                    if outcome == "mismatch":
                        answers[index] = BatchItemAnswer(
                            idempotency_key=key,
                            status="error",
                            http_status=422,
                            code="E_IDEMPOTENCY_MISMATCH",
                            message=f"Idempotency-Key {key} は別の内容の通知で使われています",
                        )
                    else:
                        answers[index] = BatchItemAnswer(idempotency_key=key, status=outcome, update_seq=held)
        return BatchAnswer(results=[a for a in answers if a is not None])

    def _store_many(
        self,
        conn: psycopg.Connection[TupleRow],
        items: list[tuple[str, str, int, dict[str, Any]]],
        peer: PeerIdentity,
    ) -> list[tuple[str, int]]:
        """:meth:`_store_notice` for several checked notices, set-based (a few statements in all).

        The same outcomes as storing them one by one in order, which is what happens when a key or a
        person occurs twice in the batch (then an earlier item decides a later one's outcome)."""
        keys = [key for key, _, _, _ in items]
        codes = [code for _, code, _, _ in items]
        if len(set(keys)) < len(keys) or len(set(codes)) < len(codes):
            return [
                self._store_notice(conn, key, code, seq, notice, peer) for key, code, seq, notice in items
            ]
        seqs = [seq for _, _, seq, _ in items]
        digests = [hashlib.sha256(orjson.dumps(n, option=orjson.OPT_SORT_KEYS)).digest() for *_, n in items]
        fresh = {
            str(row[0])
            for row in conn.execute(
                self._q(
                    """INSERT INTO {s}.received_notice
                         (idempotency_key, juminhyo_code, update_seq, payload_sha256, outcome, peer)
                       SELECT k, c, q, d, 'pending', %s
                         FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bytea[]) AS u(k, c, q, d)
                       ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key"""
                ),
                (peer.name, keys, codes, seqs, digests),
            ).fetchall()
        }
        outcomes: dict[str, str] = {}
        seen = [key for key in keys if key not in fresh]
        if seen:
            held_digest = {
                str(k): bytes(d)
                for k, d in conn.execute(
                    self._q(
                        "SELECT idempotency_key, payload_sha256 FROM {s}.received_notice"
                        " WHERE idempotency_key = ANY(%s)"
                    ),
                    (seen,),
                ).fetchall()
            }
            for key, digest in zip(keys, digests, strict=True):
                if key not in fresh:
                    outcomes[key] = "duplicate" if held_digest.get(key) == digest else "mismatch"
        new = [item for item in items if item[0] in fresh]
        if new:
            rows = [
                (
                    code,
                    seq,
                    notice.get("my_number") if self.spec.holds_my_number else None,
                    Jsonb(notice),
                    *search_keys_of(notice),
                )
                for _, code, seq, notice in new
            ]
            columns = list(zip(*rows, strict=True))
            # Binary parameters (%b): arrays of JSON text in the text format are escaped character by
            # character, which was most of this simulator's CPU.
            applied = {
                str(row[0])
                for row in conn.execute(
                    self._q(
                        """INSERT INTO {s}.person AS p (juminhyo_code, update_seq, my_number, record,
                               seion_kana, seion_family, seion_given, birth_key, sex, address_key,
                               address_tail, origin)
                           SELECT *, 'notice' FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::jsonb[],
                               %b::text[], %b::text[], %b::text[], %b::integer[], %b::text[], %b::text[],
                               %b::text[])
                           ON CONFLICT (juminhyo_code) DO UPDATE
                             SET update_seq = EXCLUDED.update_seq, my_number = EXCLUDED.my_number,
                                 record = EXCLUDED.record, updated_at = now(),
                                 seion_kana = EXCLUDED.seion_kana, seion_family = EXCLUDED.seion_family,
                                 seion_given = EXCLUDED.seion_given, birth_key = EXCLUDED.birth_key,
                                 sex = EXCLUDED.sex, address_key = EXCLUDED.address_key,
                                 address_tail = EXCLUDED.address_tail, origin = 'notice'
                             WHERE p.update_seq < EXCLUDED.update_seq
                           RETURNING juminhyo_code"""
                    ),
                    [list(column) for column in columns],
                ).fetchall()
            }
            for key, code, _, _ in new:
                outcomes[key] = "applied" if code in applied else "stale"
            conn.execute(
                self._q(
                    """UPDATE {s}.received_notice r SET outcome = u.o
                         FROM unnest(%s::text[], %s::text[]) AS u(k, o) WHERE r.idempotency_key = u.k"""
                ),
                ([key for key, *_ in new], [outcomes[key] for key, *_ in new]),
            )
        answers = [outcomes[key] for key in keys]
        conn.execute(
            self._q(
                """INSERT INTO {s}.request_log (idempotency_key, outcome, peer)
                   SELECT k, o, %s FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(k, o, n)
                   ORDER BY n"""
            ),
            (peer.name, keys, answers),
        )
        held: dict[str, int] = {}
        others = [code for key, code, _, _ in items if outcomes[key] != "applied"]
        if others:
            held = {
                str(c): int(q)
                for c, q in conn.execute(
                    self._q("SELECT juminhyo_code, update_seq FROM {s}.person WHERE juminhyo_code = ANY(%s)"),
                    (others,),
                ).fetchall()
            }
        return [
            (outcome, seq if outcome == "applied" else held.get(code, seq))
            for outcome, (_, code, seq, _) in zip(answers, items, strict=True)
        ]

    def _store_notice(
        self,
        conn: psycopg.Connection[TupleRow],
        key: str,
        code: str,
        seq: int,
        notice: dict[str, Any],
        peer: PeerIdentity,
    ) -> tuple[str, int]:
        """Record one checked notice inside the caller's transaction: (outcome, 更新順番号 held now)."""
        digest = hashlib.sha256(orjson.dumps(notice, option=orjson.OPT_SORT_KEYS)).digest()
        my_number = notice.get("my_number") if self.spec.holds_my_number else None
        # The key row first: a concurrent request with the same key waits here for ours to commit,
        # then sees the conflict and answers duplicate.
        fresh = conn.execute(
            self._q(
                """INSERT INTO {s}.received_notice
                     (idempotency_key, juminhyo_code, update_seq, payload_sha256, outcome, peer)
                   VALUES (%s, %s, %s, %s, 'pending', %s)
                   ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1"""
            ),
            (key, code, seq, digest, peer.name),
        ).fetchone()
        held: int | None
        if fresh is None:
            row = conn.execute(
                self._q("SELECT payload_sha256 FROM {s}.received_notice WHERE idempotency_key = %s"),
                (key,),
            ).fetchone()
            outcome = "duplicate" if row is not None and bytes(row[0]) == digest else "mismatch"
            current = conn.execute(
                self._q("SELECT update_seq FROM {s}.person WHERE juminhyo_code = %s"), (code,)
            ).fetchone()
            held = int(current[0]) if current else None
        else:
            # The upsert answers the 更新順番号 the copy holds afterwards (ours when applied); a stale
            # notice leaves the row untouched, so the ON CONFLICT branch returns nothing: read it then.
            applied = conn.execute(
                self._q(
                    """INSERT INTO {s}.person AS p (juminhyo_code, update_seq, my_number, record,
                           seion_kana, seion_family, seion_given, birth_key, sex, address_key,
                           address_tail, origin)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'notice')
                       ON CONFLICT (juminhyo_code) DO UPDATE
                         SET update_seq = EXCLUDED.update_seq, my_number = EXCLUDED.my_number,
                             record = EXCLUDED.record, updated_at = now(),
                             seion_kana = EXCLUDED.seion_kana, seion_family = EXCLUDED.seion_family,
                             seion_given = EXCLUDED.seion_given, birth_key = EXCLUDED.birth_key,
                             sex = EXCLUDED.sex, address_key = EXCLUDED.address_key,
                             address_tail = EXCLUDED.address_tail, origin = 'notice'
                         WHERE p.update_seq < EXCLUDED.update_seq
                       RETURNING 1"""
                ),
                (code, seq, my_number, Jsonb(notice), *search_keys_of(notice)),
            ).fetchone()
            if applied is not None:
                outcome, held = "applied", seq
            else:
                outcome = "stale"
                current = conn.execute(
                    self._q("SELECT update_seq FROM {s}.person WHERE juminhyo_code = %s"), (code,)
                ).fetchone()
                held = int(current[0]) if current else None
            conn.execute(
                self._q("UPDATE {s}.received_notice SET outcome = %s WHERE idempotency_key = %s"),
                (outcome, key),
            )
        conn.execute(
            self._q("INSERT INTO {s}.request_log (idempotency_key, outcome, peer) VALUES (%s, %s, %s)"),
            (key, outcome, peer.name),
        )
        return outcome, held if held is not None else seq

    def _answer(self, code: str, seq: int, record: dict[str, Any]) -> QueryAnswer:
        if not self.spec.holds_my_number and "my_number" in record:  # never, whatever the copy holds
            record = {k: v for k, v in record.items() if k != "my_number"}
        return QueryAnswer(juminhyo_code=code, update_seq=seq, record=record)

    def query(self, request: QueryRequest) -> QueryAnswer | QueryMatches:
        has_basic4 = any(getattr(request, name) is not None for name in _BASIC4_FIELDS)
        by = request.by
        if by is None and request.juminhyo_code is None and request.my_number is None and has_basic4:
            by = "basic4"
        if by == "basic4":
            if request.juminhyo_code is not None or request.my_number is not None:
                raise ApiError(400, "E_QUERY_KEY", "4情報による照会に住民票コード・個人番号は指定できません")
            return self.query_basic4(request)
        if has_basic4:
            raise ApiError(400, "E_QUERY_KEY", "住民票コード・個人番号による照会に4情報は指定できません")
        if (request.juminhyo_code is None) == (request.my_number is None) or (
            by is not None and getattr(request, by) is None
        ):
            raise ApiError(400, "E_QUERY_KEY", "住民票コードまたは個人番号のどちらか一つを指定してください")
        if request.my_number is not None:
            if not self.spec.holds_my_number:
                raise ApiError(400, "E_QUERY_KEY", "附票全国サーバは個人番号では照会できません")
            if not _MY_NUMBER.fullmatch(request.my_number):
                raise ApiError(400, "E_QUERY_KEY", "個人番号が不正です")
            where, value = "my_number", request.my_number
        else:
            assert request.juminhyo_code is not None
            if not _JUMINHYO.fullmatch(request.juminhyo_code):
                raise ApiError(400, "E_QUERY_KEY", "住民票コードが不正です")
            where, value = "juminhyo_code", request.juminhyo_code
        with self._pool.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT juminhyo_code, update_seq, record FROM {s}.person WHERE {c} = %s").format(
                    s=sql.Identifier(self.schema), c=sql.Identifier(where)
                ),
                (value,),
            ).fetchone()
        if row is None:
            raise ApiError(404, "E_NOT_FOUND", f"{self.label}に該当する本人確認情報はありません")
        return self._answer(row[0], row[1], row[2])

    def query_basic4(self, request: QueryRequest) -> QueryMatches:
        """The persons matching a 4情報 combination (minimum conditions, cap)."""
        try:
            keys = basic4_keys(Basic4.from_json(request.model_dump()))
            where, params = basic4_where(keys, address_tail_column="address_tail")
        except QueryConditionsError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        living = (
            sql.SQL("TRUE")
            if request.include_ended
            else sql.SQL("record->>'status' IS DISTINCT FROM 'ended'")
        )
        query = sql.SQL(
            "SELECT juminhyo_code, update_seq, record FROM {s}.person WHERE {w} AND {l}"
            " ORDER BY juminhyo_code LIMIT %s"
        ).format(s=sql.Identifier(self.schema), w=where, l=living)
        with self._pool.connection() as conn:
            rows = conn.execute(query, [*params, self.max_matches + 1]).fetchall()
        if len(rows) > self.max_matches:
            raise ApiError(
                422,
                JLIS_QUERY_RULES.too_many_code,
                f"該当が {self.max_matches} 件を超えました。検索条件を絞り込んでください",
            )
        matches = [self._answer(code, seq, record) for code, seq, record in rows]
        return QueryMatches(count=len(matches), matches=matches)

    def injected_failure(self) -> None:
        """Raise the failure ``fail_mode`` asks for, if any (after authentication, before any work)."""
        status = self.fail_mode.take()
        if status is not None:
            raise ApiError(status, "E_UNAVAILABLE", f"{self.label}は一時的に利用できません（試験用）")

    # -- HTTP ------------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI(
            title=f"{self.label} simulator (juki)",
            version="1",
            docs_url=None,
            redoc_url=None,
        )
        app.state.simulator = self

        @app.exception_handler(ApiError)
        async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
            return _error(exc.status, exc.code, exc.message)

        @app.exception_handler(RequestValidationError)
        async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
            return _error(400, "E_BAD_REQUEST", f"要求の形式が不正です: {len(exc.errors())} 件の誤り")

        @app.exception_handler(Exception)
        async def internal(_request: Request, exc: Exception) -> JSONResponse:
            log.exception("simulator error")
            return _error(500, "E_INTERNAL", "内部エラーが発生しました")

        @app.post("/jlis/v1/notices", response_model=NoticeAnswer)
        def notices(
            peer: AuthenticatedPeer,
            notice: Annotated[dict[str, Any], Body()],
            idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
        ) -> NoticeAnswer:
            self.injected_failure()
            return self.receive_notice(idempotency_key, notice, peer)

        @app.post("/jlis/v1/notices:batch", response_model=BatchAnswer, response_model_exclude_none=True)
        def notices_batch(peer: AuthenticatedPeer, items: Annotated[list[BatchItem], Body()]) -> BatchAnswer:
            return self.receive_batch(items, peer)

        @app.post("/jlis/v1/query", response_model=QueryAnswer | QueryMatches)
        def query(peer: AuthenticatedPeer, request: QueryRequest) -> QueryAnswer | QueryMatches:
            self.injected_failure()
            return self.query(request)

        return app

    def serve_in_thread(
        self, ssl_context: ContextSource, host: str = "127.0.0.1", port: int = 0
    ) -> RunningServer:
        """Serve the app over mTLS in a background thread (``ssl_context`` from ``pki.server_context``)."""
        server, thread, bound = run_server_in_thread(self.app, ssl_context, host, port)
        return RunningServer(server=server, thread=thread, host=host, port=bound)

    def serve_forever(self, ssl_context: ContextSource, host: str = "127.0.0.1", port: int = 8444) -> None:
        """Serve in the foreground until interrupted (for a `juki sim national` command)."""
        uvicorn.Server(server_config(self.app, ssl_context, host=host, port=port, log_level="info")).run()
