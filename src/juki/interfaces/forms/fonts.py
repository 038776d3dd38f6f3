"""The 明朝 font of every form: IPAmj明朝 (Debian ``fonts-ipamj-mincho``), which covers the 文字情報基盤
(MJ) repertoire and its Moji_Joho IVS, so a 外字 or a variant stored as base + selector prints with the
right glyph (DOMAIN §7).

Loading the 46 MB TrueType file into fpdf2 costs about 0.3 s; a form must render in well under that
(bench disclosure: p99 ≤ 500 ms with the signature). The parsed font is therefore kept once per
process as a prototype, and each document gets a copy of it with its own lazily opened ``TTFont``:
fpdf2 subsets the font object in place when it writes a document, so the parsed tables must not be
shared between documents.
"""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path
from typing import Final

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import TTFFont

FONT_FAMILY: Final = "mincho"
#: Where Debian installs IPAmj明朝; JUKI_FORM_FONT names another TrueType file with the same repertoire.
DEFAULT_FONT_PATHS: Final = (
    Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf"),
)


class FormFontMissing(RuntimeError):
    """The 明朝 font for forms is not installed (install the Debian package fonts-ipamj-mincho)."""


def font_path() -> Path:
    """The TrueType file the forms use (JUKI_FORM_FONT, else Debian's IPAmj明朝)."""
    configured = os.environ.get("JUKI_FORM_FONT")
    candidates = (Path(configured),) if configured else DEFAULT_FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    raise FormFontMissing(
        "帳票用の明朝フォント（IPAmj明朝）がありません。Debian パッケージ fonts-ipamj-mincho を入れてください"
    )


_lock = threading.Lock()
_prototype: TTFFont | None = None


def _load_prototype() -> TTFFont:
    global _prototype
    with _lock:
        if _prototype is None:
            loader = FPDF()
            loader.add_font(FONT_FAMILY, "", str(font_path()))
            font = loader.fonts[FONT_FAMILY]
            assert isinstance(font, TTFFont)
            _prototype = font
        return _prototype


def install_font(pdf: FPDF) -> None:
    """Give ``pdf`` the 明朝 font as family :data:`FONT_FAMILY` (a per-document copy of the prototype)."""
    proto = _load_prototype()
    font = copy.deepcopy(proto)
    # Own parsed tables: fpdf2 subsets them in place on output (see the module docstring).
    font.ttfont = ttLib.TTFont(proto.ttffile, recalcTimestamp=False, lazy=True)
    pdf.fonts[FONT_FAMILY] = font
