"""Builders of valid test notifications (codes computed with the domain's check-digit functions)."""

from __future__ import annotations

import itertools
from typing import Any

from juki.domain.codes import juminhyo_check_digit, my_number_check_digit

TSURUMI = "141011"  # 横浜市鶴見区
KANAGAWA_KU = "141020"  # 横浜市神奈川区
KAMAKURA = "142042"  # 鎌倉市
_seq = itertools.count(1)


def juminhyo(n: int) -> str:
    body = f"{n:010d}"
    return body + juminhyo_check_digit(body)


def my_number(n: int) -> str:
    body = f"{n:011d}"
    return body + my_number_check_digit(body)


def pref_record(n: int, municipality: str = TSURUMI, **over: str) -> dict[str, str]:
    record = {
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1980-04-01",
        "sex": "1",
        "address": "神奈川県横浜市鶴見区豊岡町1番1号",
        "municipality_code": municipality,
        "aza_code": "0001001",
        "my_number": my_number(500 + n),
        "former_surname_kanji": "",
        "former_surname_kana": "",
    }
    record.update(over)
    return record


def fuhyo_record(**over: str) -> dict[str, str]:
    record = {
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1980-04-01",
        "sex": "1",
        "address_municipality_code": TSURUMI,
        "address": "神奈川県横浜市鶴見区豊岡町1番1号",
        "last_address": "",
    }
    record.update(over)
    return record


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
