"""The 外字 registry (DOMAIN §7): a private-use code point → its MJ文字図形名 and the Unicode sequence
that selects that glyph in IPAmj明朝 (a base character with its Moji_Joho IVS, or a plain character).

Municipal systems send 外字 as private-use code points; only the registry says what they look like.
Printed forms replace each registered code point by its sequence so the right glyph is printed; an
unregistered one prints as 〓 (the form says so) — never as whatever a font puts at that code point.

Changing the glyph of a registered code point increments glyph_version and the 外字変更連番 of every
File 1 record whose 氏名, 住所 or 旧氏 uses it (D1-23/24/28): derived bookkeeping, like 外字数, not an
edit of what a municipality sent (S-38 still holds for the items themselves).

Who changes it (issue 12 gap 3): an administrator proposes an entry (:func:`propose_glyph`, with a
reason), another approves it (:func:`approve_glyph`, four eyes as for rights and the provision
catalog, S-12) or either rejects it (:func:`reject_glyph`); only an approval calls
:func:`register_glyph`. Every step — refused ones too — is an operation-log row (function
``gaiji_admin``, target ``gaiji:U+XXXX``). The registry holds no personal data; the bump touches File 1
only through the counters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import sql

from juki.domain.gaiji import is_private_use
from juki.domain.refusals import Refusal
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.permissions import require
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "GlyphChange",
    "GlyphEntry",
    "GlyphProposal",
    "apply_glyphs",
    "approve_glyph",
    "glyph_map",
    "glyph_proposals",
    "parse_code_point",
    "propose_glyph",
    "register_glyph",
    "registry_entries",
    "reject_glyph",
]

#: Serialises approvals, so two of them cannot both pass the "base is current" check (a new code point
#: has no registry row to lock yet).
_GAIJI_LOCK: Final = 0x4A554B4947414A49  # "JUKIGAJI"
_MAX_SEQUENCE: Final = 8
_MAX_TEXT: Final = 500

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


# --- the registry screen: list, propose, approve / reject (four eyes) --------------------------------


@dataclass(frozen=True)
class GlyphEntry:
    code_point: int
    mj_name: str
    sequence: str
    glyph_version: int
    updated_at: datetime
    updated_by: str

    @property
    def label(self) -> str:
        return code_point_label(self.code_point)


@dataclass(frozen=True)
class GlyphProposal:
    id: int
    code_point: int
    mj_name: str
    sequence: str
    reason: str
    base_version: int  # 0: a new entry
    proposed_by_login: str
    proposed_at: datetime
    decision: str | None  # None (pending), 'approved' or 'rejected'
    decided_by_login: str | None
    decided_at: datetime | None
    note: str | None
    glyph_version: int | None
    items_bumped: int | None

    @property
    def label(self) -> str:
        return code_point_label(self.code_point)


def code_point_label(code_point: int) -> str:
    return f"U+{code_point:04X}"


def sequence_label(sequence: str) -> str:
    """The code points of a sequence, as an administrator checks them ("U+8FBB U+E0102")."""
    return " ".join(code_point_label(ord(c)) for c in sequence)


def parse_code_point(text: str) -> int:
    """'U+E001', 'E001' or '0xE001' → 0xE001; T_GAIJI_INPUT otherwise."""
    cleaned = text.strip().upper().removeprefix("U+").removeprefix("0X")
    if not cleaned or len(cleaned) > 6 or any(c not in "0123456789ABCDEF" for c in cleaned):
        raise Refusal("T_GAIJI_INPUT", "符号位置は U+E001 のように16進数で入力してください")
    return int(cleaned, 16)


def _checked(code_point: int, mj_name: str, sequence: str) -> tuple[str, str]:
    """The entry as stored, or T_GAIJI_INPUT with what is wrong (the same rules register_glyph keeps)."""
    mj, seq = mj_name.strip().upper(), sequence.strip()
    if not is_private_use(code_point):
        raise Refusal(
            "T_GAIJI_INPUT", "外字として登録できるのは私用領域（U+E000–U+F8FF 等）の符号位置だけです"
        )
    if not _MJ_NAME.fullmatch(mj):
        raise Refusal("T_GAIJI_INPUT", "MJ文字図形名は MJ と6桁の数字です（例: MJ025760）")
    if not seq or len(seq) > _MAX_SEQUENCE or any(is_private_use(ord(c)) for c in seq):
        raise Refusal(
            "T_GAIJI_INPUT", "字形は IPAmj明朝 の文字（必要なら異体字セレクタ付き）で入力してください"
        )
    return mj, seq


def _current_version(term: psycopg.Connection[Any], code_point: int) -> int:
    row = term.execute(
        "SELECT glyph_version FROM term.gaiji_registry WHERE code_point = %s", [code_point]
    ).fetchone()
    return 0 if row is None else int(row[0])


def _log(term: psycopg.Connection[Any], actor: Actor, code_point: int, detail: dict[str, object]) -> None:
    record_operation(
        term,
        actor,
        function=Function.GAIJI_ADMIN,
        file=None,
        outcome=Outcome.ALLOW,
        target=f"gaiji:{code_point_label(code_point)}",
        detail=detail,
    )


def registry_entries(term: psycopg.Connection[Any], actor: Actor) -> list[GlyphEntry]:
    """The whole registry, by code point (no personal data; the read is logged as the page view)."""

    def body() -> list[GlyphEntry]:
        require(actor, Function.GAIJI_ADMIN)
        rows = term.execute(
            "SELECT code_point, mj_name, sequence, glyph_version, updated_at, updated_by"
            " FROM term.gaiji_registry ORDER BY code_point"
        ).fetchall()
        record_operation(
            term,
            actor,
            function=Function.GAIJI_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=None,
            detail={"event": "gaiji_list", "result_count": len(rows)},
        )
        return [GlyphEntry(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5]) for r in rows]

    return guarded(term, body, actor=actor, function=Function.GAIJI_ADMIN, event="gaiji_list")


def glyph_proposals(term: psycopg.Connection[Any], *, pending_only: bool = False) -> list[GlyphProposal]:
    """Proposals with their decisions, newest first (read with the registry: no separate log row)."""
    where = "WHERE d.change_id IS NULL" if pending_only else ""
    rows = term.execute(
        f"""SELECT c.id, c.code_point, c.mj_name, c.sequence, c.reason, c.base_version,
                   c.proposed_by_login, c.proposed_at, d.decision, d.decided_by_login, d.decided_at,
                   d.note, d.glyph_version, d.items_bumped
            FROM term.gaiji_changes c
            LEFT JOIN term.gaiji_change_decisions d ON d.change_id = c.id {where}
            ORDER BY c.id DESC LIMIT 200"""
    ).fetchall()
    return [GlyphProposal(*r) for r in rows]


def propose_glyph(
    term: psycopg.Connection[Any], actor: Actor, code_point: int, mj_name: str, sequence: str, reason: str
) -> int:
    """File a new entry or a change of one; its number. Nothing prints differently until approved."""
    target = f"gaiji:{code_point_label(code_point)}"

    def body() -> int:
        require(actor, Function.GAIJI_ADMIN)
        mj, seq = _checked(code_point, mj_name, sequence)
        why = reason.strip()
        if not why:
            raise Refusal("T_REASON_REQUIRED")
        if len(why) > _MAX_TEXT:
            raise Refusal("T_GAIJI_INPUT", f"理由は{_MAX_TEXT}文字以内です")
        base = _current_version(term, code_point)
        row = term.execute(
            "INSERT INTO term.gaiji_changes (code_point, mj_name, sequence, reason, base_version,"
            " proposed_by_login) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            [code_point, mj, seq, why, base, actor.login],
        ).fetchone()
        assert row is not None
        _log(term, actor, code_point, {"event": "gaiji_propose", "change": int(row[0]), "base_version": base})
        return int(row[0])

    return guarded(
        term, body, actor=actor, function=Function.GAIJI_ADMIN, event="gaiji_propose", target=target
    )


def _pending(term: psycopg.Connection[Any], change_id: int) -> GlyphProposal:
    rows = glyph_proposals_by_id(term, change_id)
    if not rows:
        raise Refusal("T_GAIJI_NOT_FOUND", f"変更案番号 {change_id}")
    if rows[0].decision is not None:
        raise Refusal("T_GAIJI_STATE", f"変更案番号 {change_id} は決裁済みです")
    return rows[0]


def glyph_proposals_by_id(term: psycopg.Connection[Any], change_id: int) -> list[GlyphProposal]:
    rows = term.execute(
        """SELECT c.id, c.code_point, c.mj_name, c.sequence, c.reason, c.base_version,
                  c.proposed_by_login, c.proposed_at, d.decision, d.decided_by_login, d.decided_at,
                  d.note, d.glyph_version, d.items_bumped
           FROM term.gaiji_changes c
           LEFT JOIN term.gaiji_change_decisions d ON d.change_id = c.id WHERE c.id = %s""",
        [change_id],
    ).fetchall()
    return [GlyphProposal(*r) for r in rows]


def approve_glyph(
    term: psycopg.Connection[Any], pref: psycopg.Connection[Any], actor: Actor, change_id: int, note: str = ""
) -> GlyphChange:
    """Approve a proposal: the registry takes the entry, File 1's 外字変更連番 of the records using the
    code point go up when a glyph changed. Four eyes: the approver did not propose it.

    ``pref`` (juki_pref) commits the bump inside this step, before the registry's transaction commits:
    should the second commit fail, the records carry one bump too many (peers fetch an unchanged
    glyph again) — never a changed glyph without its bump.
    """
    target = f"gaiji-change:{change_id}"

    def body() -> GlyphChange:
        require(actor, Function.GAIJI_ADMIN)
        term.execute("SELECT pg_advisory_xact_lock(%s)", [_GAIJI_LOCK])
        proposal = _pending(term, change_id)
        if proposal.proposed_by_login == actor.login:
            raise Refusal("T_GAIJI_SELF_APPROVAL")
        current = _current_version(term, proposal.code_point)
        if proposal.base_version != current:
            raise Refusal(
                "T_GAIJI_STATE",
                f"変更案の基にした版（{proposal.base_version}）は現在の版（{current}）ではありません。改めて申請してください",
            )
        with pref.transaction():
            change = register_glyph(
                term, pref, proposal.code_point, proposal.mj_name, proposal.sequence, by=actor.login
            )
        term.execute(
            "INSERT INTO term.gaiji_change_decisions (change_id, decision, decided_by_login, note,"
            " glyph_version, items_bumped) VALUES (%s, 'approved', %s, %s, %s, %s)",
            [change_id, actor.login, note.strip()[:_MAX_TEXT], change.glyph_version, change.items_bumped],
        )
        _log(
            term,
            actor,
            proposal.code_point,
            {
                "event": "gaiji_approve",
                "change": change_id,
                "proposed_by": proposal.proposed_by_login,
                "glyph_version": change.glyph_version,
                "items_bumped": change.items_bumped,
            },
        )
        return change

    return guarded(
        term, body, actor=actor, function=Function.GAIJI_ADMIN, event="gaiji_approve", target=target
    )


def reject_glyph(term: psycopg.Connection[Any], actor: Actor, change_id: int, reason: str) -> None:
    """Reject (or withdraw) a proposal; it changes nothing, so its proposer may do it too."""
    target = f"gaiji-change:{change_id}"

    def body() -> None:
        require(actor, Function.GAIJI_ADMIN)
        why = reason.strip()
        if not why:
            raise Refusal("T_REASON_REQUIRED")
        proposal = _pending(term, change_id)
        term.execute(
            "INSERT INTO term.gaiji_change_decisions (change_id, decision, decided_by_login, note)"
            " VALUES (%s, 'rejected', %s, %s)",
            [change_id, actor.login, why[:_MAX_TEXT]],
        )
        _log(term, actor, proposal.code_point, {"event": "gaiji_reject", "change": change_id})

    guarded(term, body, actor=actor, function=Function.GAIJI_ADMIN, event="gaiji_reject", target=target)
