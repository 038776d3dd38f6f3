"""Valid test codes, records and notifications shared by the test modules (the one factories module).

Codes carry computed check digits (never invented numbers); records hold every notified item.
Each test module overrides only what its cases are about.

* ``base_pref_record`` / ``base_fuhyo_record``: one valid record of each file (the domain tests).
* ``pref_record(n)`` / ``fuhyo_record``: person n of the service tests (its own 個人番号, born 1980),
  built on the base records; ``notification`` wraps a record into a notification.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from typing import Any

import orjson

from juki.domain.codes import juminhyo_check_digit, my_number_check_digit
from juki.domain.lgcodes import for_prefecture
from juki.domain.records import FileKind
from juki.files import all_files
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.registry.reconciliation import upload_columns
from juki.store.db import Database

TSURUMI = "141011"  # 横浜市鶴見区 (a ward: keeps the resident register)
KANAGAWA_KU = "141020"  # 横浜市神奈川区 (same designated city as 鶴見区)
KAWASAKI_KU = "141313"  # 川崎市川崎区 (another designated city)
KAMAKURA = "142042"  # 鎌倉市
YOKOHAMA = "141003"  # 横浜市 itself (a designated city: never a 市町村コード)
CHIYODA = "131016"  # 東京都千代田区 (valid, another prefecture)


def jcode(first10: str) -> str:
    """A 住民票コード satisfying the mod11 hypothesis (DOMAIN §2)."""
    return first10 + juminhyo_check_digit(first10)


def mynum(first11: str) -> str:
    """A valid 個人番号 (DOMAIN §1)."""
    return first11 + my_number_check_digit(first11)


MY_NUMBER = mynum("12345678901")


def address_in(code: str, rest: str = "本町一丁目1番1号") -> str:
    """An address lying in Kanagawa municipality ``code`` (a 住所 must lie in its 市町村コード's area)."""
    return f"神奈川県{for_prefecture('14').name_of(code)}{rest}"


def _in_municipality(record: dict[str, str], over: dict[str, str], code_item: str) -> dict[str, str]:
    """Move the default address into the municipality an override names, unless the address is given."""
    code = over.get(code_item, "")
    if code and code != TSURUMI and "address" not in over and for_prefecture("14").get(code) is not None:
        record["address"] = address_in(code)
    return record


def base_pref_record(**over: str) -> dict[str, str]:
    """A File 1 record (all notified items) of a resident of 鶴見区."""
    record = {
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1985-03-04",
        "sex": "1",
        "address": "神奈川県横浜市鶴見区鶴見中央一丁目1番1号",
        "municipality_code": TSURUMI,
        "aza_code": "0001001",
        "my_number": MY_NUMBER,
        "former_surname_kanji": "",
        "former_surname_kana": "",
    }
    record.update(over)
    return _in_municipality(record, over, "municipality_code")


def base_fuhyo_record(**over: str) -> dict[str, str]:
    """A File 2 record (all notified items) of a person living in 鶴見区."""
    record = {
        "name_kanji": "山田　花子",
        "name_kana": "ヤマダ　ハナコ",
        "birth_date": "1985-03-04",
        "sex": "2",
        "address_municipality_code": TSURUMI,
        "address": "神奈川県横浜市鶴見区鶴見中央一丁目1番1号",
        "last_address": "",
    }
    record.update(over)
    return _in_municipality(record, over, "address_municipality_code")


# -- persons and notifications of the service tests ------------------------------------------------

_seq = itertools.count(1)


def juminhyo(n: int) -> str:
    return jcode(f"{n:010d}")


def my_number(n: int) -> str:
    return mynum(f"{n:011d}")


def pref_record(n: int, municipality: str = TSURUMI, **over: str) -> dict[str, str]:
    """Person n's File 1 record (its own 個人番号), born 1980 in 鶴見区 unless overridden."""
    base = {
        "birth_date": "1980-04-01",
        "address": "神奈川県横浜市鶴見区豊岡町1番1号"
        if municipality == TSURUMI
        else address_in(municipality),
        "municipality_code": municipality,
        "my_number": my_number(500 + n),
    }
    return base_pref_record(**{**base, **over})


def fuhyo_record(**over: str) -> dict[str, str]:
    base = {"name_kanji": "山田　太郎", "name_kana": "ヤマダ　タロウ", "birth_date": "1980-04-01", "sex": "1"}
    return base_fuhyo_record(**{**base, "address": "神奈川県横浜市鶴見区豊岡町1番1号", **over})


def notification(
    file: str,
    reason: str,
    code: str,
    *,
    municipality: str = TSURUMI,
    record: dict[str, str] | None = None,
    change_date: str = "2026-10-01",
    nid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file": file,
        "municipality_code": municipality,
        "notification_id": nid or f"{municipality}-T{next(_seq):08d}",
        "reason": reason,
        "change_date": change_date,
        "juminhyo_code": code,
    }
    if record is not None:
        out["record"] = record
    out.update(extra)
    return out


# -- applied notifications and reconciliation uploads ---------------------------------------------

BORN = "2026-09-01"
MOVED = "神奈川県横浜市鶴見区鶴見中央二丁目3番4号"


def apply_accepted(db: Database, *items: dict[str, Any]) -> None:
    """Apply notifications to both files and require every one accepted."""
    lines = [orjson.dumps(item) for item in items]
    with contextlib.ExitStack() as stack:
        connections = {spec.kind: stack.enter_context(db.connect(spec.db_role)) for spec in all_files()}
        applier = NotificationApplier(connections, batch_size=500)
        results = list(applier.apply(iter_lines([b"\n".join(lines)]), source="test"))
    assert all(r.status == "accepted" for r in results), results


def born(n: int, municipality: str = TSURUMI, **over: str) -> dict[str, Any]:
    """Person n's 出生 notification (File 1), born on BORN."""
    record = pref_record(n, municipality=municipality, **{"birth_date": BORN, **over})
    return notification(
        "pref", "birth", juminhyo(n), municipality=municipality, record=record, change_date=BORN
    )


def upload_row(file: FileKind, code: str, record: dict[str, str]) -> list[str]:
    """One reconciliation upload row of ``record``."""
    return [code, *(record[c] for c in upload_columns(file)[1:])]


def csv_bytes(file: FileKind, rows: list[list[str]], header: tuple[str, ...] | None = None) -> bytes:
    """A reconciliation upload: the header (or ``header``) and ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header or upload_columns(file))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def person(n: int, municipality: str = TSURUMI, **over: str) -> list[str]:
    """Person n's File 1 upload row as the municipality holds it."""
    record = pref_record(n, municipality=municipality, **{"birth_date": BORN, **over})
    return upload_row(FileKind.PREF, juminhyo(n), record)
