"""The 外字 registry (DOMAIN §7): a private-use code point maps to its MJ glyph; changing the glyph
bumps the 外字変更連番 of the File 1 records that use it, and only theirs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from juki.domain.refusals import Refusal
from juki.services.disclosure.gaiji_registry import (
    apply_glyphs,
    approve_glyph,
    glyph_map,
    glyph_proposals,
    parse_code_point,
    propose_glyph,
    register_glyph,
    registry_entries,
    reject_glyph,
)
from juki.store.db import Database, DbRole
from tests.factories import apply_accepted, juminhyo, notification, pref_record
from tests.services.audit.support import actor as signed_in

PUA = 0xE001


def test_registry_maps_glyphs_and_a_changed_glyph_bumps_the_gaiji_sequence(db: Database) -> None:
    apply_accepted(
        db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(1),
            record=pref_record(1, name_kanji=chr(PUA) + "田\u3000花子"),
        ),
        notification(
            "pref", "domestic_move_in", juminhyo(2), record=pref_record(2, name_kanji="山田\u3000花子")
        ),
    )
    with db.connect(DbRole.TERM) as term, db.connect(DbRole.PREF) as pref:
        first = register_glyph(term, pref, PUA, "MJ025760", "辻\U000e0102", by="admin1")
        same = register_glyph(term, pref, PUA, "MJ025760", "辻\U000e0102", by="admin1")
        changed = register_glyph(term, pref, PUA, "MJ025761", "辻\U000e0103", by="admin1")
        with pytest.raises(ValueError):
            register_glyph(
                term, pref, ord("辻"), "MJ025760", "辻", by="admin1"
            )  # not a private-use code point
        glyphs = glyph_map(term)
        term.commit()
        pref.commit()
        seqs = dict(
            pref.execute("SELECT juminhyo_code, name_gaiji_seq FROM pref.identity_current").fetchall()
        )
    assert (first.glyph_version, first.items_bumped) == (1, 0)  # a new entry changes no glyph
    assert (same.glyph_version, same.items_bumped) == (1, 0)
    assert (changed.glyph_version, changed.items_bumped) == (2, 1)
    assert seqs == {juminhyo(1): 1, juminhyo(2): 0}
    assert apply_glyphs(chr(PUA) + "田", glyphs) == ("辻\U000e0103田", False)
    assert apply_glyphs(chr(0xE002) + "田", glyphs) == ("〓田", True)


# --- changes by four eyes (issue 12 gap 3; DOMAIN §7, S-12) ------------------------------------------


def _log(db: Database, event: str) -> list[dict[str, Any]]:
    with db.connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT function, outcome, target, detail FROM audit.op_log WHERE detail->>'event' = %s ORDER BY seq",
            [event],
        ).fetchall()


def test_S12_gaiji_change_needs_a_second_administrator_and_bumps_the_sequence_on_approval(
    db: Database,
) -> None:
    """DOMAIN §7 / S-12: a proposal changes nothing; its proposer cannot approve it; another
    administrator's approval registers the glyph, bumps 外字変更連番 only when a glyph changed, and
    every step (the refused self-approval too) is an operation-log row."""
    apply_accepted(
        db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(1),
            record=pref_record(1, name_kanji=chr(PUA) + "田\u3000花子"),
        ),
    )
    first, second = (
        signed_in(db, login, "T-ADMIN", roles=frozenset({"admin"})) for login in ("admin1", "admin2")
    )
    with db.connect(DbRole.TERM, autocommit=True) as term, db.connect(DbRole.PREF, autocommit=True) as pref:
        new = propose_glyph(term, first, PUA, "MJ025760", "辻\U000e0102", "浜松市からの外字の登録")
        assert glyph_map(term) == {}  # nothing prints differently before the approval
        with pytest.raises(Refusal) as own:
            approve_glyph(term, pref, first, new)
        made = approve_glyph(term, pref, second, new, "字形を確認")
        change = propose_glyph(term, second, PUA, "mj025761", "辻\U000e0103", "MJ字形の誤りの訂正")
        stale = propose_glyph(term, first, PUA, "MJ025762", "辻", "別案")
        changed = approve_glyph(term, pref, first, change)
        with pytest.raises(Refusal) as outdated:
            approve_glyph(term, pref, second, stale)  # based on version 1, now 2
        reject_glyph(term, first, stale, "先の変更で足りる")
        with pytest.raises(Refusal) as decided:
            reject_glyph(term, second, stale, "二度目")
        glyphs = glyph_map(term)
        entries = registry_entries(term, second)
        history = glyph_proposals(term)
        seq = pref.execute("SELECT name_gaiji_seq FROM pref.identity_current").fetchone()
    assert own.value.code == "T_GAIJI_SELF_APPROVAL"
    assert outdated.value.code == "T_GAIJI_STATE" and decided.value.code == "T_GAIJI_STATE"
    assert (made.glyph_version, made.items_bumped) == (1, 0)
    assert (changed.glyph_version, changed.items_bumped) == (2, 1)
    assert seq == (1,) and glyphs == {PUA: "辻\U000e0103"}
    assert [(e.label, e.mj_name, e.glyph_version, e.updated_by) for e in entries] == [
        ("U+E001", "MJ025761", 2, "admin1")
    ]
    assert [(p.id, p.decision, p.base_version) for p in history] == [
        (stale, "rejected", 1),
        (change, "approved", 1),
        (new, "approved", 0),
    ]
    approvals = _log(db, "gaiji_approve")
    assert [r["outcome"] for r in approvals] == ["rejected", "allow", "allow", "rejected"]
    assert all(r["function"] == "gaiji_admin" for r in approvals)
    assert approvals[2]["detail"]["items_bumped"] == 1 and approvals[2]["target"] == "gaiji:U+E001"
    assert len(_log(db, "gaiji_propose")) == 3 and len(_log(db, "gaiji_reject")) == 2


@pytest.mark.parametrize(
    ("code_point", "mj_name", "sequence", "reason", "code"),
    [
        (ord("辻"), "MJ025760", "辻", "理由", "T_GAIJI_INPUT"),  # not a private-use code point
        (PUA, "025760", "辻", "理由", "T_GAIJI_INPUT"),
        (PUA, "MJ025760", chr(0xE002), "理由", "T_GAIJI_INPUT"),  # a glyph must not be another 外字
        (PUA, "MJ025760", "辻", "  ", "T_REASON_REQUIRED"),
    ],
)
def test_gaiji_proposal_is_checked_and_only_administrators_propose(
    db: Database, code_point: int, mj_name: str, sequence: str, reason: str, code: str
) -> None:
    admin = signed_in(db, "admin1", "T-ADMIN", roles=frozenset({"admin"}))
    clerk = signed_in(db, "madoguchi", "T-COUNTER", roles=frozenset({"counter"}))
    with db.connect(DbRole.TERM, autocommit=True) as term:
        with pytest.raises(Refusal) as bad:
            propose_glyph(term, admin, code_point, mj_name, sequence, reason)
        with pytest.raises(Refusal) as forbidden:
            propose_glyph(term, clerk, PUA, "MJ025760", "辻", "理由")
    assert bad.value.code == code and forbidden.value.code == "T_FORBIDDEN"


def test_gaiji_code_point_is_read_as_an_administrator_types_it() -> None:
    assert parse_code_point("U+E001") == parse_code_point("e001") == parse_code_point("0xE001") == 0xE001
    with pytest.raises(Refusal):
        parse_code_point("辻")
