"""The 外字 registry (DOMAIN §7): a private-use code point → its MJ文字図形名 and the Unicode sequence
that selects that glyph in IPAmj明朝 (a base character with its Moji_Joho IVS, or a plain character).

Municipal systems send 外字 as private-use code points; only the registry says what they look like.
Printed forms replace each registered code point by its sequence so the right glyph is printed; an
unregistered one prints as 〓 (the form says so) — never as whatever a font puts at that code point.

Changing the glyph of a registered code point increments glyph_version and the 外字変更連番 of every
File 1 record whose 氏名, 住所 or 旧氏 uses it (D1-23/24/28): derived bookkeeping, like 外字数, not an
edit of what a municipality sent (S-38 still holds for the items themselves).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from juki.domain.gaiji import is_private_use

__all__ = ["GlyphChange", "apply_glyphs", "glyph_map", "register_glyph"]

_MJ_NAME: Final = re.compile(r"MJ[0-9]{6}")
GETA: Final = "〓"
#: File 1's text items and the 外字変更連番 each one bumps.
_SEQ_OF: Final = (
    ("name_kanji", "name_gaiji_seq"),
    ("address", "address_gaiji_seq"),
    ("former_surname_kanji", "former_surname_gaiji_seq"),
)


@dataclass(frozen=True)
class GlyphChange:
    code_point: int
    glyph_version: int
    items_bumped: int  # File 1 item counters (氏名・住所・旧氏 of a record) that went up


def glyph_map(term: psycopg.Connection[Any]) -> dict[int, str]:
    """Every registered code point → its sequence (juki_term connection)."""
    return {
        int(cp): str(seq) for cp, seq in term.execute("SELECT code_point, sequence FROM term.gaiji_registry")
    }


def apply_glyphs(text: str, glyphs: dict[int, str]) -> tuple[str, bool]:
    """``text`` with each private-use code point replaced by its registered sequence; True when some
    code point was unregistered (printed as 〓)."""
    if text.isascii() or not any(is_private_use(ord(c)) for c in text):
        return text, False
    missing = False
    out: list[str] = []
    for c in text:
        if is_private_use(ord(c)):
            seq = glyphs.get(ord(c))
            missing = missing or seq is None
            out.append(seq if seq is not None else GETA)
        else:
            out.append(c)
    return "".join(out), missing


def register_glyph(
    term: psycopg.Connection[Any],
    pref: psycopg.Connection[Any],
    code_point: int,
    mj_name: str,
    sequence: str,
    *,
    by: str,
) -> GlyphChange:
    """Register or change the glyph of ``code_point``; bump File 1's 外字変更連番 when it changed.

    ``term`` is a juki_term connection, ``pref`` one as juki_pref; the caller commits both (the
    registry change and the bump belong together). ValueError on a malformed entry.
    """
    if not is_private_use(code_point):
        raise ValueError("外字として登録できるのは私用領域の符号位置だけです")
    if not _MJ_NAME.fullmatch(mj_name):
        raise ValueError("MJ文字図形名は MJ と6桁の数字です")
    if not sequence or any(is_private_use(ord(c)) for c in sequence):
        raise ValueError("字形を選ぶ文字列（IPAmj明朝の文字と異体字セレクタ）を指定してください")
    row = term.execute(
        "SELECT mj_name, sequence, glyph_version FROM term.gaiji_registry WHERE code_point = %s FOR UPDATE",
        [code_point],
    ).fetchone()
    if row is None:
        term.execute(
            "INSERT INTO term.gaiji_registry (code_point, mj_name, sequence, updated_by)"
            " VALUES (%s, %s, %s, %s)",
            [code_point, mj_name, sequence, by],
        )
        version, changed = 1, False
    elif (row[0], row[1]) == (mj_name, sequence):
        return GlyphChange(code_point, int(row[2]), 0)
    else:
        version, changed = int(row[2]) + 1, True
        term.execute(
            "UPDATE term.gaiji_registry SET mj_name = %s, sequence = %s, glyph_version = %s,"
            " updated_at = now(), updated_by = %s WHERE code_point = %s",
            [mj_name, sequence, version, by, code_point],
        )
    bumped = 0
    if changed:
        needle = chr(code_point)
        for text_column, seq_column in _SEQ_OF:
            query = sql.SQL("UPDATE pref.identity_current SET {seq} = {seq} + 1 WHERE strpos({text}, %s) > 0")
            cur = pref.execute(
                query.format(seq=sql.Identifier(seq_column), text=sql.Identifier(text_column)), [needle]
            )
            bumped += cur.rowcount
    return GlyphChange(code_point, version, bumped)
