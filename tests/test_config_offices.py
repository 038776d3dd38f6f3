"""JUKI_OFFICES_FILE (issue 14 item 1, Q-08): the operator supplies the offices of a prefecture the
shipped file does not know, or replaces a shipped entry; a wrong file stops the start, not a form."""

from __future__ import annotations

from pathlib import Path

import pytest

from juki.config import Settings
from juki.domain.offices import OfficesNotConfigured

TOKYO = """
[13]
disclosure_office = "東京都総務局総務部情報公開課"
staff_department = "東京都総務局行政部区政課"
contact = "お問い合わせ先　東京都総務局行政部区政課"
"""


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefecture: str, offices: str | None) -> None:
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUKI_PREFECTURE", prefecture)
    if offices is None:
        monkeypatch.delenv("JUKI_OFFICES_FILE", raising=False)
        return
    path = tmp_path / "offices.toml"
    path.write_text(offices, encoding="utf-8")
    monkeypatch.setenv("JUKI_OFFICES_FILE", str(path))


def test_Q_08_the_default_is_the_shipped_entry_of_the_configured_prefecture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, "22", None)
    settings = Settings.from_env()
    assert settings.offices_file is None and settings.offices().issuer == "静岡県知事"
    assert Settings().offices().issuer == "神奈川県知事"  # JUKI_PREFECTURE's default, 14


def test_Q_08_a_prefecture_the_shipped_file_does_not_know_is_E_OFFICES_NOT_CONFIGURED(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, "13", None)
    with pytest.raises(OfficesNotConfigured) as caught:
        Settings.from_env().offices()
    assert caught.value.code == "E_OFFICES_NOT_CONFIGURED" and "東京都" in caught.value.message


def test_Q_08_JUKI_OFFICES_FILE_supplies_a_prefecture_and_overrides_a_shipped_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, "13", TOKYO)
    settings = Settings.from_env()
    assert settings.offices_file == (tmp_path / "offices.toml").resolve()
    tokyo = settings.offices()
    assert tokyo.issuer == "東京都知事" and tokyo.disclosure_office == "東京都総務局総務部情報公開課"

    _env(monkeypatch, tmp_path, "14", TOKYO.replace("[13]", "[14]").replace("東京都", "神奈川県"))
    replaced = Settings.from_env().offices()
    assert replaced.disclosure_office == "神奈川県総務局総務部情報公開課"
    assert replaced.contact == "お問い合わせ先　神奈川県総務局行政部区政課"


def test_JUKI_OFFICES_FILE_is_read_at_each_form_so_a_correction_needs_no_restart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, "13", TOKYO)
    settings = Settings.from_env()
    assert settings.offices_file is not None
    settings.offices_file.write_text(TOKYO.replace("区政課", "市町村課"), encoding="utf-8")
    assert settings.offices().staff_department == "東京都総務局行政部市町村課"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[13]\ncontact = 'x'\n", "disclosure_office"),  # an entry without its counters
        ("[13\n", "TOML"),
        (None, "読めません"),  # the named file does not exist
    ],
)
def test_a_wrong_JUKI_OFFICES_FILE_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None, why: str
) -> None:
    path = tmp_path / "offices.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("JUKI_OFFICES_FILE", str(path))
    with pytest.raises(ValueError, match=why):
        Settings.from_env()
