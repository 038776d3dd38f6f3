"""The error catalogues are complete: every stable code the source uses is catalogued and documented.

A code raised without a catalogue entry has no message of record; one missing from
docs/error-codes.md is invisible to the municipalities and operators who must act on it.
"""

from __future__ import annotations

import re
from pathlib import Path

from juki.domain.errors import CATALOG
from juki.domain.refusals import REFUSALS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "juki"
ERROR_DOC = ROOT / "docs" / "error-codes.md"

#: A code as a string literal in the source ("E_…" / 'E_…'), not a word in a comment or a prefix.
_E_LITERAL = re.compile(r"""["'](E_[A-Z0-9_]*[A-Z0-9])["']""")
_T_REFUSAL = re.compile(r"""Refusal\(\s*["'](T_[A-Z0-9_]*[A-Z0-9])["']""")


def _literals(pattern: re.Pattern[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for code in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


def _documented() -> set[str]:
    """The codes docs/error-codes.md names (E_ rejections, W_ warnings); test_notification checks
    that they are exactly the catalogue's."""
    return set(re.findall(r"\b[EW]_[A-Z0-9_]+\b", ERROR_DOC.read_text(encoding="utf-8")))


def test_the_scan_sees_the_codes() -> None:
    codes = _literals(_E_LITERAL)
    assert {"E_JSON", "E_DUPLICATE_CONFLICT", "E_RECON_HEADER", "E_QUERY_KEY"} <= codes.keys()


def test_every_e_code_in_the_source_is_in_the_catalogue() -> None:
    missing = {code: files for code, files in _literals(_E_LITERAL).items() if code not in CATALOG}
    assert not missing, f"codes used but not in juki.domain.errors.CATALOG: {missing}"


def test_every_e_code_in_the_source_is_documented() -> None:
    documented = _documented()
    missing = {code: files for code, files in _literals(_E_LITERAL).items() if code not in documented}
    assert not missing, f"codes used but not in docs/error-codes.md: {missing}"


def test_every_catalogued_code_has_both_messages() -> None:
    for spec in (*CATALOG.values(), *REFUSALS.values()):
        assert spec.message_ja and spec.message_en, spec.code


def test_every_refusal_raised_is_in_the_refusal_catalogue() -> None:
    missing = {code: files for code, files in _literals(_T_REFUSAL).items() if code not in REFUSALS}
    assert not missing, f"refusals raised but not in juki.domain.refusals.REFUSALS: {missing}"
