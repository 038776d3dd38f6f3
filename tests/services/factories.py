"""Builders of valid test notifications (codes computed with the domain's check-digit functions)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.factories import KAMAKURA, KANAGAWA_KU, TSURUMI, jcode, mynum
from tests.factories import fuhyo_record as base_fuhyo_record
from tests.factories import pref_record as base_pref_record

__all__ = [
    "KAMAKURA",
    "KANAGAWA_KU",
    "TSURUMI",
    "fuhyo_record",
    "juminhyo",
    "my_number",
    "notification",
    "pref_record",
]

_seq = itertools.count(1)


def juminhyo(n: int) -> str:
    return jcode(f"{n:010d}")


def my_number(n: int) -> str:
    return mynum(f"{n:011d}")


def pref_record(n: int, municipality: str = TSURUMI, **over: str) -> dict[str, str]:
    """Person n's File 1 record (its own 個人番号), born 1980 in 鶴見区 unless overridden."""
    base = {
        "birth_date": "1980-04-01",
        "address": "神奈川県横浜市鶴見区豊岡町1番1号",
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
