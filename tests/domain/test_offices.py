"""The prefecture's offices are configuration (issue 14 item 1, Q-08): the shipped entries, the
example marker, the error for a prefecture without an entry, and the file's checks."""

from __future__ import annotations

import pytest

from juki.domain.errors import CATALOG
from juki.domain.offices import (
    EXAMPLE_MARKER,
    OfficesNotConfigured,
    offices_for,
    packaged_offices,
    parse_offices,
)


def test_Q_08_kanagawa_keeps_exactly_the_names_it_printed_before_issue_14() -> None:
    k = offices_for("14")
    assert k.prefecture_name == "神奈川県" and k.issuer == "神奈川県知事"
    assert k.lodging_offices == ("神奈川県政策局政策部情報公開広聴課", "神奈川県政策局自治振興部市町村課")
    assert k.staff_department == "神奈川県政策局自治振興部市町村課"
    assert k.contact == "お問い合わせ先　神奈川県政策局自治振興部市町村課調整グループ　045-210-3166"
    assert k.signature_reason == "神奈川県が発行した文書であることの証明"
    assert k.signed_note == (
        "この文書には神奈川県の電子署名が付されています。写しが発行時のものであることは署名の検証で確認できます。"
    )
    assert not k.example and k.notes == (k.contact, k.signed_note)


def test_Q_08_shizuoka_is_an_example_entry_that_names_only_shizuoka_and_says_so() -> None:
    s = offices_for("22")
    assert s.issuer == "静岡県知事" and s.prefecture_name == "静岡県" and s.example
    assert s.notes[0] == EXAMPLE_MARKER and "県で確認のうえ確定" in EXAMPLE_MARKER
    named = (s.issuer, *s.lodging_offices, s.contact, s.signature_reason, s.signed_note)
    assert all("静岡県" in text and "神奈川" not in text for text in named)


def test_every_shipped_entry_names_its_own_prefecture() -> None:
    for code, entry in packaged_offices().items():
        assert entry.prefecture == code
        for text in (entry.issuer, *entry.lodging_offices, entry.contact, entry.signature_reason):
            assert entry.prefecture_name in text, (code, text)


def test_a_prefecture_without_an_entry_gets_E_OFFICES_NOT_CONFIGURED_naming_it() -> None:
    with pytest.raises(OfficesNotConfigured) as caught:
        offices_for("13")
    assert caught.value.code == "E_OFFICES_NOT_CONFIGURED" and "E_OFFICES_NOT_CONFIGURED" in CATALOG
    assert "東京都" in caught.value.message and "JUKI_OFFICES_FILE" in caught.value.message
    assert "神奈川" not in caught.value.message


def test_an_override_adds_a_prefecture_and_replaces_a_shipped_entry_whole() -> None:
    text = """
[13]
disclosure_office = "東京都総務局総務部情報公開課"
staff_department = "東京都総務局行政部区政課"
contact = "お問い合わせ先　東京都総務局行政部区政課"

[14]
disclosure_office = "神奈川県A課"
staff_department = "神奈川県B課"
contact = "お問い合わせ先　神奈川県B課"
"""
    overrides = parse_offices(text, "offices.toml")
    tokyo = offices_for("13", overrides)
    # issuer and signature reason are derived from the prefecture's name when not given
    assert tokyo.issuer == "東京都知事" and tokyo.signature_reason == "東京都が発行した文書であることの証明"
    assert not tokyo.example
    kanagawa = offices_for("14", overrides)
    assert kanagawa.lodging_offices == ("神奈川県A課", "神奈川県B課") and kanagawa.issuer == "神奈川県知事"
    assert offices_for("22", overrides) == offices_for("22")  # what the file does not name is shipped


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('[14]\ndisclosure_office = "a"\nstaff_department = "b"\n', "contact"),  # missing
        ('[14]\ndisclosure_office = "a"\nstaff_department = "b"\ncontact = "c"\nisuer = "x"\n', "isuer"),
        ('[48]\ndisclosure_office = "a"\nstaff_department = "b"\ncontact = "c"\n', "48"),
        ('[14]\ndisclosure_office = "a"\nstaff_department = "b"\ncontact = ""\n', "contact"),
        (
            '[14]\ndisclosure_office = "a"\nstaff_department = "b"\ncontact = "c"\nexample = "yes"\n',
            "example",
        ),
        ("[14\n", "TOML"),
    ],
)
def test_a_wrong_offices_file_is_refused_with_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        parse_offices(text, "offices.toml")
    assert "offices.toml" in str(caught.value)
