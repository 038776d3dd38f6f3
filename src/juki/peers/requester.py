"""The requester simulator (SIM-4 他の執行機関・他部署, SIM-5 税務システムの共有フォルダ).

It builds a realistic 照会要求ファイル from the file as it is stored — a random sample of present
persons — with the mix a requesting department produces: mostly 住民票コード and 4情報 that identify one
person, some that identify nobody (a moved-away or mistyped person), 4情報 that fit several persons
(同姓同名・同生年月日), 個人番号 where the task may not use it, and a few malformed rows. Next to the
request it writes what each row must answer (``*.expected.csv``: request_ref, expected result code),
computed by an independent oracle — plain SQL counts over the stored keys, not the bulk matcher — so
:func:`check_result` can compare each result row with it.

Everything streams: a server-side cursor in, the CSV rows out; memory is flat at any size.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from juki.domain.dates import JukiDate
from juki.domain.provision import KeyType
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.provision.bulk.request_file import REQUEST_COLUMNS

__all__ = ["DEFAULT_MIX", "CheckReport", "RequestBuild", "build_request", "check_result", "expected_path"]

#: Share of each kind of row (the rest of 1.0 is 4情報 with a birth date that identifies one person).
DEFAULT_MIX: Final[dict[str, float]] = {
    "code": 0.40,  # 住民票コード of a present person
    "code_missing": 0.05,  # a 住民票コード nobody has
    "basic4_address": 0.10,  # kana name + address (no birth date)
    "basic4_missing": 0.05,  # 4情報 of nobody
    "my_number": 0.05,  # 個人番号 (File 1): answered if the task allows the key
    "invalid": 0.03,  # malformed keys
}
_FETCH: Final = 10_000
#: The kinds that identify nobody in the file: bulk provision asks J-LIS for them (F1-2b, like F1-2).
_NOBODY: Final = frozenset({"code_missing", "basic4_missing"})


@dataclass
class RequestBuild:
    """What was written: the request, the expectations, counts per expected code."""

    request: Path
    expected: Path
    rows: int = 0
    expected_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": str(self.request),
            "expected": str(self.expected),
            "rows": self.rows,
            "expected_counts": self.expected_counts,
        }


def expected_path(request: Path) -> Path:
    return request.with_name(request.stem + ".expected.csv")


def _sample(
    conn: psycopg.Connection[Any], file: FileKind, rows: int, seed: int
) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` present persons (repeated if the file is smaller) in batches, with whether each is in
    the file's provision subject. The oracle's counts are asked per batch by :func:`_counts`, only for
    the rows whose kind needs them."""
    spec = file_spec(file)
    total_row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(spec.current))).fetchone()
    total = int(total_row[0]) if total_row else 0
    if total == 0:
        return
    percent = min(100.0, 100.0 * rows * 1.3 / total)
    number = "my_number" if spec.holds_my_number else "NULL::text"
    # LEGAL.md §1: provision may be about the file's provision subject only (File 2: 国外転出者). The
    # oracle states it from the configuration itself, as a plain list of states.
    subject = spec.provision_subject if spec.provision_subject is not None else spec.present_statuses
    query = sql.SQL(
        "SELECT juminhyo_code, name_kana, birth_date, sex, address, seion_kana, birth_key, address_key,"
        " {number} AS my_number, status = ANY(%s) AS in_subject"
        " FROM {current} TABLESAMPLE BERNOULLI (%s) REPEATABLE (%s) WHERE {present}"
    ).format(number=sql.SQL(number), current=sql.SQL(spec.current), present=sql.SQL(spec.present_sql))
    states = sorted(subject)
    produced = 0
    while produced < rows:
        with conn.transaction(), conn.cursor(name="juki_sim_requester") as cur:
            cur.itersize = _FETCH
            cur.execute(query, (states, percent, seed + produced))
            while produced < rows and (batch := cur.fetchmany(min(_FETCH, rows - produced))):
                produced += len(batch)
                yield batch
        if produced == 0:
            return


def _counts(
    conn: psycopg.Connection[Any], file: FileKind, column: str, keys: list[tuple[str, Any]]
) -> list[int]:
    """For each (清音化 name, key) the number of the provision subject's persons the oracle finds:
    ``column`` birth_key = same name and birth key; address_key = same name, address starting so.

    The address prefix is also given as a range, so it is an index range scan on address_key (few
    rows: one address) rather than a walk through every person of the same name — the synthetic
    names repeat thousands of times at 10M and that walk took hours there. The range is exact in the
    C collation the database is created with; starts_with stays as the definition."""
    if not keys:
        return []
    spec = file_spec(file)
    subject = spec.provision_subject if spec.provision_subject is not None else spec.present_statuses
    if column == "birth_key":
        match, key_type = "c.seion_kana = k.seion AND c.birth_key = k.key", "int[]"
    else:
        key_type = "text[]"
        match = (
            "(c.seion_kana || '') = k.seion AND c.address_key >= k.key"
            " AND c.address_key < k.key || chr(1114111) AND starts_with(c.address_key, k.key)"
        )
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM {current} c WHERE " + match + " AND c.status = ANY(%s))"
        " FROM unnest(%s::text[], %s::" + key_type + ") WITH ORDINALITY AS k(seion, key, n) ORDER BY k.n"
    ).format(current=sql.SQL(spec.current))
    states = sorted(subject)
    found = conn.execute(query, (states, [k[0] for k in keys], [k[1] for k in keys])).fetchall()
    return [int(r[0]) for r in found]


def build_request(
    conn: psycopg.Connection[Any],
    file: FileKind,
    out: Path,
    *,
    rows: int,
    allowed_keys: frozenset[KeyType],
    seed: int = 1,
    encoding: str = "utf-8",
    mix: dict[str, float] | None = None,
    national: bool = False,
) -> RequestBuild:
    """Write a request file of ``rows`` rows and its expectations (see the module docstring).

    ``national``: whether the server reaches a J-LIS that answers the rows its file does not (they
    identify nobody anywhere: 該当なし); without one they are 照会先応答なし (P_UNAVAILABLE)."""
    shares = mix or DEFAULT_MIX
    rng = random.Random(seed)
    build = RequestBuild(out, expected_path(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("w", encoding=encoding, newline="") as req,
        build.expected.open("w", encoding="utf-8", newline="") as exp,
    ):
        request_writer, expect_writer = (
            csv.writer(req, lineterminator="\r\n"),
            csv.writer(exp, lineterminator="\n"),
        )
        request_writer.writerow(REQUEST_COLUMNS)
        expect_writer.writerow(("request_ref", "expected"))
        n = 0
        for batch in _sample(conn, file, rows, seed):
            kinds = [_kind(rng, shares) for _ in batch]
            # Which count each row's expectation rests on (the same choice _row makes).
            by_address = [
                kind == "basic4_address"
                or (kind == "basic4" and not JukiDate.parse_canonical(p[2]).is_complete)
                for kind, p in zip(kinds, batch, strict=True)
            ]
            need_birth = [i for i, k in enumerate(kinds) if k == "basic4" and not by_address[i]]
            need_address = [i for i, a in enumerate(by_address) if a]
            same_birth = dict(
                zip(
                    need_birth,
                    _counts(conn, file, "birth_key", [(batch[i][5], batch[i][6]) for i in need_birth]),
                    strict=True,
                )
            )
            same_address = dict(
                zip(
                    need_address,
                    _counts(conn, file, "address_key", [(batch[i][5], batch[i][7]) for i in need_address]),
                    strict=True,
                )
            )
            for i, (person, kind) in enumerate(zip(batch, kinds, strict=True)):
                n += 1
                code, kana, birth, sex, address, _seion, _birth_key, _akey, number, in_subject = person
                ref = f"SIM{n:08d}"
                row, expected = _row(
                    kind,
                    ref,
                    code,
                    kana,
                    birth,
                    sex,
                    address,
                    number,
                    same_birth.get(i, 0),
                    same_address.get(i, 0),
                    rng,
                )
                while kind == "code_missing" and _code_exists(conn, file, row[2]):
                    # At 10M persons a random code can be somebody's: draw again, it must be nobody's.
                    row[2] = f"99{rng.randrange(10**9):09d}"
                if not in_subject and expected == "P_MATCH" and kind in ("code", "my_number"):
                    expected = "P_NOT_FOUND"  # present, but not a person the file may be provided about
                if kind in _NOBODY and expected == "P_NOT_FOUND" and not national:
                    expected = "P_UNAVAILABLE"  # nobody here: asked of J-LIS, which is not there to answer
                if KeyType(row[1]) not in allowed_keys:
                    expected = "P_KEY_NOT_ALLOWED"  # read before the keys' values (request_file._row)
                if not _encodable(row, encoding):
                    continue  # a 外字 name cannot be written in CP932: the requester would not send it either
                request_writer.writerow(row)
                expect_writer.writerow((ref, expected))
                build.rows += 1
                build.expected_counts[expected] = build.expected_counts.get(expected, 0) + 1
    return build


def _code_exists(conn: psycopg.Connection[Any], file: FileKind, code: str) -> bool:
    """Whether anybody — present or not — has this 住民票コード in the file."""
    query = sql.SQL("SELECT 1 FROM {} WHERE juminhyo_code = %s").format(sql.SQL(file_spec(file).current))
    return conn.execute(query, (code,)).fetchone() is not None


def _encodable(row: list[str], encoding: str) -> bool:
    try:
        ",".join(row).encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _kind(rng: random.Random, shares: dict[str, float]) -> str:
    draw = rng.random()
    for kind, share in shares.items():
        if draw < share:
            return kind
        draw -= share
    return "basic4"


def _row(
    kind: str,
    ref: str,
    code: str,
    kana: str,
    birth: str,
    sex: str,
    address: str,
    number: str | None,
    same_birth: int,
    same_address: int,
    rng: random.Random,
) -> tuple[list[str], str]:
    """One request row and the result the oracle expects for it."""
    empty = ["", "", "", "", ""]  # my_number, name_kana, birth_date, sex, address
    if kind == "code":
        return [ref, "resident_code", code, *empty], "P_MATCH"
    if kind == "code_missing":
        return [ref, "resident_code", f"99{rng.randrange(10**9):09d}", *empty], "P_NOT_FOUND"
    if kind == "my_number":
        return [ref, "my_number", "", number or "", "", "", "", ""], "P_MATCH" if number else "P_INVALID"
    if kind == "invalid":
        return [ref, "basic4", "", "", kana, "", "", ""], "P_INVALID"  # a name alone is not enough
    if kind == "basic4_missing":
        return [ref, "basic4", "", "", "ミツカラナイ　ダレモ", "1901-01-01", "", ""], "P_NOT_FOUND"
    date = JukiDate.parse_canonical(birth)
    if kind == "basic4_address" or not date.is_complete:
        return [ref, "basic4", "", "", kana, "", "", address], _by_count(same_address)
    # The sex only where the name and birth alone identify one person (the oracle counts without it).
    with_sex = same_birth == 1 and rng.random() < 0.5
    return [ref, "basic4", "", "", kana, birth, sex if with_sex else "", ""], _by_count(same_birth)


def _by_count(n: int) -> str:
    return "P_MATCH" if n == 1 else ("P_NOT_FOUND" if n == 0 else "P_AMBIGUOUS")


@dataclass
class CheckReport:
    """Each result row compared with its expectation (SIM-4: the requester checks what it got)."""

    rows: int = 0
    ok: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    mismatches: list[dict[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.rows > 0 and self.ok == self.rows

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "ok": self.ok, "counts": self.counts, "mismatches": self.mismatches[:20]}


def check_result(result: Path, expected: Path, *, encoding: str = "utf-8") -> CheckReport:
    """Compare a 照会結果ファイル with the expectations, row by row (the same order and references)."""
    report = CheckReport()
    with (
        result.open(encoding=encoding, newline="") as res,
        expected.open(encoding="utf-8", newline="") as exp,
    ):
        results, expectations = csv.DictReader(res), csv.DictReader(exp)
        for got, want in zip(results, expectations, strict=False):
            report.rows += 1
            code = got.get("result_code", "")
            report.counts[code] = report.counts.get(code, 0) + 1
            if got.get("request_ref") == want["request_ref"] and code == want["expected"]:
                report.ok += 1
            else:
                report.mismatches.append(
                    {"request_ref": want["request_ref"], "expected": want["expected"], "got": code}
                )
        if next(results, None) is not None or next(expectations, None) is not None:
            report.mismatches.append({"request_ref": "", "expected": "same row count", "got": "different"})
            report.ok = -1
    return report
