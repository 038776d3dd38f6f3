"""The offices a prefecture's printed forms and letters name (issue 14: the prefecture is
configuration, not code).

Every answer the prefecture prints — the disclosure decisions, the provision-status statement, the
不開示決定通知書, the correction letter, the provision paper — names its issuer (知事), where a request
is lodged, whom to ask and whose signature it carries. Those names are data, one entry per
都道府県コード: ``juki/data/prefecture_offices.toml`` ships the entries the project knows, and a file
the operator supplies (``JUKI_OFFICES_FILE``, read by ``juki.config``) adds or replaces entries.

A prefecture with no entry gets :class:`OfficesNotConfigured` (E_OFFICES_NOT_CONFIGURED) instead of
another prefecture's names: a letter naming the wrong 知事 is worse than no letter. An entry marked
``example = true`` (names not verified with the prefecture) prints :data:`EXAMPLE_MARKER`, the
project's 【県で確認のうえ確定】 convention for wording the prefecture must confirm.

Pure: parsing takes text; only the packaged file is read here (as ``lgcodes`` reads its table).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from juki.domain.errors import Rejection
from juki.domain.lgcodes import for_prefecture

__all__ = [
    "EXAMPLE_MARKER",
    "Offices",
    "OfficesNotConfigured",
    "offices_for",
    "packaged_offices",
    "parse_offices",
]

#: Printed on every form of an ``example = true`` entry until the prefecture confirms its names.
EXAMPLE_MARKER: Final = (
    "【県で確認のうえ確定：発行者・窓口・問い合わせ先の名称は例示（prefecture_offices.toml の example）】"
)

_REQUIRED: Final = ("disclosure_office", "staff_department", "contact")
_OPTIONAL: Final = ("issuer", "signature_reason", "example")


@dataclass(frozen=True)
class Offices:
    """One prefecture's offices as its forms print them."""

    prefecture: str  # 都道府県コード, 2 digits
    #: The prefecture as a legal person (the defendant of a 取消訴訟, named in the 教示).
    prefecture_name: str
    #: The issuing authority printed on every answer.
    issuer: str
    #: The counter where a written disclosure request is lodged (REQUIREMENTS F1-3).
    disclosure_office: str
    #: The 市町村課-equivalent: F1-3's other counter, and how a staff member who viewed a person's
    #: record is named to that person (S-55; the department, never the operator: architecture note 69).
    staff_department: str
    #: Where a person asks about an answer (S-60).
    contact: str
    #: The reason of the PDF signature.
    signature_reason: str
    #: True = names not verified with the prefecture; the forms carry :data:`EXAMPLE_MARKER`.
    example: bool = False

    @property
    def lodging_offices(self) -> tuple[str, str]:
        """Where a written request may be lodged (REQUIREMENTS F1-3: L3394–3400)."""
        return (self.disclosure_office, self.staff_department)

    @property
    def signed_note(self) -> str:
        return (
            f"この文書には{self.prefecture_name}の電子署名が付されています。"
            "写しが発行時のものであることは署名の検証で確認できます。"
        )

    @property
    def notes(self) -> tuple[str, ...]:
        """The closing lines of every answer: the example marker (if any), the contact, the signature."""
        return (*((EXAMPLE_MARKER,) if self.example else ()), self.contact, self.signed_note)


class OfficesNotConfigured(Rejection):
    """No office entry for the prefecture: nothing is printed rather than another prefecture's names."""

    def __init__(self, prefecture: str) -> None:
        try:
            name = for_prefecture(prefecture).prefecture().name
        except ValueError:
            name = "不明な都道府県"
        super().__init__("E_OFFICES_NOT_CONFIGURED", f"{name}（都道府県コード {prefecture}）")
        self.prefecture = prefecture


def _text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} は空でない文字列で指定してください")
    return value.strip()


def _entry(code: str, entry: object, where: str) -> Offices:
    if len(code) != 2 or not code.isascii() or not code.isdigit() or not 1 <= int(code) <= 47:
        raise ValueError(f"{where}: 見出し [{code}] は都道府県コード 01..47 ではありません")
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: [{code}] は表（テーブル）で指定してください")
    unknown = set(entry) - {*_REQUIRED, *_OPTIONAL}
    if unknown:  # a misspelt key must not silently fall back to a default
        raise ValueError(f"{where}: [{code}] に未知の項目があります: {', '.join(sorted(unknown))}")
    name = for_prefecture(code).prefecture().name
    example = entry.get("example", False)
    if not isinstance(example, bool):
        raise ValueError(f"{where}: [{code}] example は true / false で指定してください")
    here = f"{where} [{code}]"
    return Offices(
        prefecture=code,
        prefecture_name=name,
        issuer=_text(entry, "issuer", here) if "issuer" in entry else f"{name}知事",
        disclosure_office=_text(entry, "disclosure_office", here),
        staff_department=_text(entry, "staff_department", here),
        contact=_text(entry, "contact", here),
        signature_reason=(
            _text(entry, "signature_reason", here)
            if "signature_reason" in entry
            else f"{name}が発行した文書であることの証明"
        ),
        example=example,
    )


def parse_offices(text: str, where: str = "prefecture_offices.toml") -> dict[str, Offices]:
    """The entries of a prefecture_offices.toml text, keyed by 都道府県コード; ValueError names what
    is wrong (``where`` says which file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: TOML として読めません: {exc}") from None
    return {code: _entry(code, entry, where) for code, entry in data.items()}


@cache
def packaged_offices() -> Mapping[str, Offices]:
    """The shipped entries (juki/data/prefecture_offices.toml), parsed once per process."""
    text = resources.files("juki").joinpath("data/prefecture_offices.toml").read_text(encoding="utf-8")
    return parse_offices(text)


def offices_for(prefecture: str, overrides: Mapping[str, Offices] | None = None) -> Offices:
    """The offices of ``prefecture``: the operator's entry (``overrides``, from JUKI_OFFICES_FILE) or
    the shipped one; :class:`OfficesNotConfigured` when neither has it."""
    found = (overrides or {}).get(prefecture) or packaged_offices().get(prefecture)
    if found is None:
        raise OfficesNotConfigured(prefecture)
    return found
