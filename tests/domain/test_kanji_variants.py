"""The 異体字 table of the opt-in variant search (F1-6, F2-6; issue 10 item 6): data with its public
source, every relation backed by that source, and expansion of a search key only."""

from __future__ import annotations

import itertools
import json
from importlib import resources

import pytest

from juki.domain import kanji_variants
from juki.domain.kanji_variants import MAX_SPELLINGS, spellings, variant_groups, variants_of

SOURCE_PACKAGE = "ja_itaiji"


def _table_text() -> str:
    return resources.files("juki").joinpath("data/kanji_variants.tsv").read_text(encoding="utf-8")


def test_F1_6_variant_table_names_its_source_and_licence() -> None:
    """The data file's header says where the table comes from and under which licence."""
    header = "\n".join(line for line in _table_text().splitlines() if line.startswith("#"))
    assert "ja-itaiji 1.0.2" in header and "MIT" in header
    assert "https://github.com/RjChiba/ja_itaiji" in header


def test_F1_6_every_variant_pair_is_a_relation_of_the_source() -> None:
    """Every pair in every group is listed as the same character by the source data (the package's
    own JSON, installed as a dev dependency): nothing was added by hand."""
    source = json.loads(
        resources.files(SOURCE_PACKAGE).joinpath("data/term/ja-itaiji.json").read_text(encoding="utf-8")
    )
    for group in variant_groups():
        for a, b in itertools.permutations(group, 2):
            assert b in source.get(a, []) or a in source.get(b, []), (a, b)


def test_F1_6_groups_are_disjoint_and_cover_the_issue_examples() -> None:
    seen: set[str] = set()
    for group in variant_groups():
        assert not group & seen
        seen |= group
    assert variants_of("高") == {"高", "髙"}
    assert variants_of("崎") >= {"崎", "\ufa11"}  # 﨑 is a compatibility ideograph: kept as itself
    assert variants_of("辺") == {"辺", "邊", "邉"}
    assert variants_of("斎") == {"斎", "齋"} and variants_of("齊") == {"斉", "齊"}
    assert variants_of("山") == {"山"}


def test_F1_6_spellings_expand_the_key_with_the_key_first() -> None:
    assert spellings("高橋") == ("高橋", "髙橋")
    assert spellings("渡邊") == ("渡邊", "渡辺", "渡邉")
    assert spellings("山田") == ("山田",)
    many = spellings("高崎浜沢島桜広瀬")
    assert len(many) == MAX_SPELLINGS and many[0] == "高崎浜沢島桜広瀬"


def test_F1_6_a_malformed_table_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        def joinpath(self, _: str) -> Fake:
            return self

        def read_text(self, encoding: str) -> str:
            return "U+9AD8\n"

    monkeypatch.setattr(kanji_variants.resources, "files", lambda _: Fake())
    variant_groups.cache_clear()
    try:
        with pytest.raises(kanji_variants.VariantTableError):
            variant_groups()
    finally:
        monkeypatch.undo()
        variant_groups.cache_clear()
