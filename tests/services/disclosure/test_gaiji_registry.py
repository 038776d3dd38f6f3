"""The 外字 registry (DOMAIN §7): a private-use code point maps to its MJ glyph; changing the glyph
bumps the 外字変更連番 of the File 1 records that use it, and only theirs."""

from __future__ import annotations

import pytest

from juki.services.disclosure.gaiji_registry import apply_glyphs, glyph_map, register_glyph
from juki.store.db import Database, DbRole
from tests.factories import apply_accepted, juminhyo, notification, pref_record

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
