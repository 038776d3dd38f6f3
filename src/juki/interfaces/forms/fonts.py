"""The 明朝 font of every form: IPAmj明朝 (Debian ``fonts-ipamj-mincho``), which covers the 文字情報基盤
(MJ) repertoire and its Moji_Joho IVS, so a 外字 or a variant stored as base + selector prints with the
right glyph (DOMAIN §7).

Speed (bench disclosure: p99 ≤ 500 ms with the signature). The 46 MB TrueType file is parsed once per
process into a prototype (:func:`_load_prototype`, tables decompiled up front under a lock), and every
document shares it *read only* while it is laid out (cmap, glyph names, advance widths). fpdf2 embeds
a font by running fontTools' subsetter over ``font.ttfont`` in place; given the full font that meant
decompiling its 61,000-glyph tables again for every document (~0.45 s). :func:`prepare_embedding`
therefore hands fpdf2, just before output, a small font holding only the glyphs the document used
(with the same glyph names, in the same order, with the same outlines, metrics and hinting tables),
which fpdf2 then subsets in a few milliseconds. Nothing is left out: any glyph of IPAmj明朝 — a 外字
printed through the registry, an IVS variant — is embedded when a document uses it, since the small
font is built per document from the whole prototype.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from fontTools import ttLib
from fontTools.ttLib import newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FONT_FAMILY: Final = "mincho"
#: Where Debian installs IPAmj明朝; JUKI_FORM_FONT names another TrueType file with the same repertoire.
DEFAULT_FONT_PATHS: Final = (
    Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf"),
)
#: Tables copied whole into the embedding font (hinting and global metrics; fontTools keeps them).
_COPIED: Final = ("head", "hhea", "maxp", "OS/2", "name", "post", "cvt ", "fpgm", "prep", "gasp", "vhea")
#: fontTools' "recommended glyphs" (.notdef, .null, CR, space) are the first four of a TrueType font.
_RECOMMENDED: Final = 4


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
_gid: dict[str, int] = {}  # glyph name -> glyph ID in the prototype
_unicodes: dict[str, list[int]] = {}  # glyph name -> the code points the cmap maps to it


def _load_prototype() -> TTFFont:
    global _prototype
    with _lock:
        if _prototype is not None and len(_prototype.ttfont.getGlyphOrder()) != len(_gid):
            # A document was written without prepare_embedding, so fpdf2 subset the shared tables in
            # place: never print from them again.
            _prototype = None
            _gid.clear()
            _unicodes.clear()
        if _prototype is None:
            loader = FPDF()
            loader.add_font(FONT_FAMILY, "", str(font_path()))
            font = loader.fonts[FONT_FAMILY]
            assert isinstance(font, TTFFont)
            tt = font.ttfont
            # Decompile now, once: the tables are then only read, by any number of threads.
            for tag in ("glyf", "hmtx", "vmtx", "cmap", *_COPIED):
                if tag in tt:
                    tt[tag]
            _gid.update({name: i for i, name in enumerate(tt.getGlyphOrder())})
            for code, name in tt.getBestCmap().items():
                _unicodes.setdefault(name, []).append(code)
            _prototype = font
        return _prototype


def install_font(pdf: FPDF) -> None:
    """Give ``pdf`` the 明朝 font as family :data:`FONT_FAMILY` (a per-document copy of the prototype).

    The document must be written through :func:`prepare_embedding` (``layout.render_form`` does).
    """
    proto = _load_prototype()
    # The parsed tables, advance widths and cmap are only read while laying out: shared. The glyphs
    # a document uses (subset) are its own; prepare_embedding gives it its own font to embed.
    font = copy.copy(proto)
    font.missing_glyphs = []
    font.subset = SubsetMap(font)
    pdf.fonts[FONT_FAMILY] = font


def prepare_embedding(pdf: FPDF) -> None:
    """Before ``pdf.output()``: give the document's font a TrueType of just the glyphs it used, which
    fpdf2 subsets (in place) and embeds, instead of the shared 61,000-glyph prototype."""
    font = pdf.fonts.get(FONT_FAMILY)
    proto = _load_prototype()
    if not isinstance(font, TTFFont) or font.ttfont is not proto.ttfont:
        return
    font.ttfont = _embedding_font(proto.ttfont, font.subset.get_all_glyph_names())


def _embedding_font(full: ttLib.TTFont, used: Sequence[str]) -> ttLib.TTFont:
    order = full.getGlyphOrder()
    wanted = set(order[:_RECOMMENDED])
    wanted.update(name for name in used if name in _gid)
    names = sorted(wanted, key=_gid.__getitem__)  # the prototype's order: the same glyph IDs after subsetting

    small = ttLib.TTFont(recalcTimestamp=False)
    small.setGlyphOrder(names)
    for tag in _COPIED:
        if tag in full:
            small[tag] = copy.copy(full[tag])  # own attributes: compiling recalculates some of them
    source = full["glyf"].glyphs
    if any(_composite(source[n]) for n in names):
        # Another font (JUKI_FORM_FONT) with composite glyphs: their components are numbered in the
        # full font, so fpdf2 subsets a fresh copy of it instead, as it does by default (slow).
        return ttLib.TTFont(full.reader.file.name, recalcTimestamp=False, lazy=True)
    glyf = newTable("glyf")
    glyf.glyphOrder = names
    # A glyph still in its raw form (all of IPAmj明朝's, which has no composite glyphs) is rebuilt from
    # its bytes; one fpdf2 already expanded (.notdef) is copied.
    glyf.glyphs = {
        n: Glyph(source[n].data) if hasattr(source[n], "data") else copy.deepcopy(source[n]) for n in names
    }
    small["glyf"] = glyf
    small["loca"] = newTable("loca")
    for tag in ("hmtx", "vmtx"):
        if tag in full:
            metrics = newTable(tag)
            metrics.metrics = {n: full[tag].metrics[n] for n in names}
            small[tag] = metrics
    cmap = newTable("cmap")
    cmap.tableVersion = 0
    cmap.tables = []
    best = {u: n for n in names for u in _unicodes.get(n, ())}
    for fmt, plat, enc in ((4, 3, 1), (12, 3, 10)):
        sub = ttLib.tables._c_m_a_p.CmapSubtable.newSubtable(fmt)
        sub.platformID, sub.platEncID, sub.language = plat, enc, 0
        sub.cmap = {u: g for u, g in best.items() if fmt == 12 or u <= 0xFFFF}
        cmap.tables.append(sub)
    small["cmap"] = cmap
    return small


def _composite(glyph: Glyph) -> bool:
    return bool(glyph.isComposite())  # reads the raw header of a glyph not yet expanded
