"""Lay a :class:`~juki.interfaces.forms.model.Form` out as an A4 PDF in 明朝 (fpdf2 + HarfBuzz).

What a Japanese office prints: the issue number and date at the top right, the addressee at the left,
the issuing office at the right, a centred title, the legal basis, clear ruled tables (item names on a
grey ground), and on every page a footer with the issue number and "1 / 3".

Text goes through HarfBuzz (fpdf2's text shaping), which maps base + ideographic variation selector to
the variant glyph of IPAmj明朝 through the font's cmap format 14. fpdf2 cuts a text into runs wherever
the Unicode script changes and treats a selector (script *Inherited*) as a run of its own, which would
separate it from its base character and print the default glyph: :class:`_FormPdf` joins such runs
back before shaping. The ToUnicode map then maps the variant glyph back to base + selector, so copying
the text (or ``pdftotext``) returns the stored characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace, TTFFont
from fpdf.line_break import Fragment
from fpdf.output import OutputProducer

from juki.interfaces.forms.fonts import FONT_FAMILY, install_font, prepare_embedding
from juki.interfaces.forms.model import Form, KeyValueTable, ListTable, Paragraph

BODY_PT: Final = 10.5
SMALL_PT: Final = 8.5
TITLE_PT: Final = 16.0
MARGIN_MM: Final = 20.0
LABEL_SHARE: Final = 0.3  # the item-name column of a key/value table
_GREY: Final = (232, 232, 232)


def _is_selector_run(frag: Fragment) -> bool:
    """A run made only of variation selectors (and combining marks): it belongs to the run before it."""
    return bool(frag.characters) and all(_joins_previous(c) for c in frag.characters)


def _joins_previous(c: str) -> bool:
    cp = ord(c)
    return 0xE0100 <= cp <= 0xE01EF or 0xFE00 <= cp <= 0xFE0F or cp in (0x3099, 0x309A)


class _FormPdf(FPDF):
    """fpdf2 with the form's running header and footer, and selector runs kept with their base."""

    def __init__(self, form: Form) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.form = form
        self.set_margins(MARGIN_MM, MARGIN_MM + 6, MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=MARGIN_MM)
        install_font(self)
        self.set_text_shaping(True)
        self.set_font(FONT_FAMILY, size=BODY_PT)
        self.set_title(form.title)
        self.set_creator("juki")
        self.set_lang("ja")

    def _parse_chars(self, text: str, markdown: bool, **kwargs: Any) -> Iterator[Fragment]:
        pending: Fragment | None = None
        for frag in super()._parse_chars(text, markdown, **kwargs):
            if (
                pending is not None
                and type(frag) is Fragment
                and type(pending) is Fragment
                and frag.font is pending.font
                and (_is_selector_run(frag) or _is_selector_run(pending))
            ):
                pending.characters.extend(frag.characters)
                continue
            if pending is not None:
                yield pending
            pending = frag
        if pending is not None:
            yield pending

    def header(self) -> None:
        if self.form.handling_note:
            self.set_xy(MARGIN_MM, 10)
            self.set_font(FONT_FAMILY, size=BODY_PT)
            self.cell(
                w=self.get_string_width(self.form.handling_note) + 6,
                h=7,
                text=self.form.handling_note,
                border=1,
                align="C",
            )
        self.set_xy(MARGIN_MM, MARGIN_MM + 6)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT_FAMILY, size=SMALL_PT)
        width = self.w - 2 * MARGIN_MM
        shaping = self.text_shaping
        if not any(_needs_shaping(t) for t in (self.form.issue_number, self.form.issuer)):
            self.text_shaping = None  # plain cmap glyphs: HarfBuzz on every page's footer cost ~2 ms a page
        self.cell(w=width / 3, h=5, text=f"発行番号 {self.form.issue_number}", align="L")
        self.cell(w=width / 3, h=5, text=f"{self.page_no()} / {{nb}}", align="C")
        self.cell(w=width / 3, h=5, text=self.form.issuer, align="R")
        self.text_shaping = shaping
        self.set_font(FONT_FAMILY, size=BODY_PT)


def _line(pdf: FPDF, text: str, *, align: str = "L", size: float = BODY_PT, height: float = 6.5) -> None:
    pdf.set_font(FONT_FAMILY, size=size)
    if align == "L":
        # Broken here, not by fpdf2, which breaks at any character and may start a line with "。"
        # (a 静岡県 letter did); 1/100 mm of slack so fpdf2 never breaks a line a second time.
        text = "\n".join(_wrap(pdf, text, pdf.epw - 2 * pdf.c_margin - 0.01))
    pdf.multi_cell(w=0, h=height, text=text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=BODY_PT)


def _heading(pdf: FPDF, text: str) -> None:
    if text:
        pdf.ln(2)
        _line(pdf, f"■ {text}", size=11.5, height=7)


def _key_value(pdf: FPDF, table: KeyValueTable) -> None:
    _heading(pdf, table.heading)
    width = pdf.w - 2 * MARGIN_MM
    label_face = FontFace(fill_color=_GREY)
    with pdf.table(
        col_widths=(width * LABEL_SHARE, width * (1 - LABEL_SHARE)),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.ALL,
        line_height=7,
        padding=1.5,
        text_align=("LEFT", "LEFT"),
    ) as t:
        for label, value in table.rows:
            row = t.row()
            row.cell(label, style=label_face)
            row.cell(value)
    pdf.ln(2)


LIST_PT: Final = 9.0
LIST_LINE_MM: Final = 4.6
LIST_PAD_MM: Final = 1.2
_PT_MM: Final = 25.4 / 72


_JOINS_PREVIOUS: Final = re.compile("[\U000e0100-\U000e01ef\ufe00-\ufe0f\u3099\u309a]")


def _needs_shaping(text: str) -> bool:
    """HarfBuzz is needed only for a variation selector or a combining mark (to pick the glyph);
    every other character maps one to one through the font's cmap, many times faster."""
    return _JOINS_PREVIOUS.search(text) is not None


#: 行頭禁則: characters a Japanese line must not start with (closing brackets and punctuation).
_NO_LINE_START: Final = frozenset("、。，．,.)）」』】〕〉》]｝!！?？:：;；・ー々ゝゞヽヾ")


def _wrap(pdf: FPDF, text: str, width_mm: float) -> list[str]:
    """Greedy line breaking at any character (Japanese text has no spaces to break at), keeping a
    base character with its selector; widths from the font's own advance table. A character that
    must not start a line (行頭禁則) takes the character before it down with it (追い出し)."""
    font = pdf.current_font
    assert isinstance(font, TTFFont)
    scale = pdf.font_size_pt * _PT_MM / 1000
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for c in paragraph:
            w = 0.0 if _joins_previous(c) else font.cw.get(ord(c), 1000) * scale
            if line and used + w > width_mm and not _joins_previous(c):
                carried = ""
                if c in _NO_LINE_START and len(line) > 1:
                    carried, line = line[-1], line[:-1]
                    while line and _joins_previous(carried[0]):  # keep a base with its selector
                        carried, line = line[-1] + carried, line[:-1]
                    if not line:  # nothing left to carry from: break where the width says
                        line, carried = carried, ""
                lines.append(line)
                line, used = (
                    carried,
                    sum(font.cw.get(ord(x), 1000) * scale for x in carried if not _joins_previous(x)),
                )
            line += c
            used += w
        lines.append(line)
    return lines


def _list(pdf: FPDF, table: ListTable) -> None:
    """A ruled list with its header repeated on each page, drawn cell by cell: fpdf2's own table
    lays out every cell twice with full text shaping (about 35 ms a row on this machine), which a
    provision-status answer of 1,000 rows cannot afford."""
    _heading(pdf, table.heading)
    if not table.rows:
        _line(pdf, table.empty)
        return
    relative = table.widths or tuple(1.0 for _ in table.columns)
    total = pdf.w - 2 * MARGIN_MM
    widths = [total * w / sum(relative) for w in relative]
    pdf.set_font(FONT_FAMILY, size=LIST_PT)
    pdf.set_draw_color(0)
    pdf.set_fill_color(*_GREY)

    wraps: dict[tuple[str, float], list[str]] = {}  # a column repeats its values (organ, task, basis)

    def wrap(text: str, width: float) -> list[str]:
        key = (text, width)
        if key not in wraps:
            wraps[key] = _wrap(pdf, text, width)
        return wraps[key]

    def draw(cells: Sequence[str], *, header: bool) -> None:
        wrapped = [wrap(str(v), w - 2 * LIST_PAD_MM) for v, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * LIST_LINE_MM + 2 * LIST_PAD_MM
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            pdf.set_font(FONT_FAMILY, size=LIST_PT)
            if not header:
                draw(table.columns, header=True)
        x, y = MARGIN_MM, pdf.get_y()
        for lines, w in zip(wrapped, widths, strict=True):
            pdf.rect(x, y, w, height, style="DF" if header else "D")
            for i, text in enumerate(lines):
                if not text:
                    continue
                if _needs_shaping(text):  # an IVS: through HarfBuzz, like every other text of the form
                    pdf.set_xy(x + LIST_PAD_MM, y + LIST_PAD_MM + i * LIST_LINE_MM)
                    pdf.cell(w=w - 2 * LIST_PAD_MM, h=LIST_LINE_MM, text=text)
                else:  # text() maps characters through the cmap alone: no shaping cost
                    pdf.text(x + LIST_PAD_MM, y + LIST_PAD_MM + (i + 0.78) * LIST_LINE_MM, text)
            x += w
        pdf.set_y(y + height)

    draw(table.columns, header=True)
    for values in table.rows:
        draw(values, header=False)
    pdf.set_font(FONT_FAMILY, size=BODY_PT)
    pdf.ln(2)


class _EmbeddingProducer(OutputProducer):
    """fpdf2's output, once every page (the last footer included) is drawn: the font embedded from
    the document's own small font (``fonts.prepare_embedding``), not from the shared prototype."""

    def bufferize(self) -> bytearray:
        prepare_embedding(self.fpdf)
        return super().bufferize()


def render_form(form: Form) -> bytes:
    """The form as PDF bytes (A4, 明朝, embedded font subset, page numbers "n / N")."""
    pdf = _FormPdf(form)
    pdf.alias_nb_pages("{nb}")
    pdf.add_page()
    _line(pdf, f"{form.issue_number}", align="R")
    _line(pdf, form.issued_on, align="R")
    if form.recipient:
        pdf.ln(2)
        _line(pdf, f"{form.recipient}　様", size=12)
    _line(pdf, form.issuer, align="R", size=12)
    pdf.ln(4)
    _line(pdf, form.title, align="C", size=TITLE_PT, height=10)
    pdf.ln(2)
    if form.legal_basis:
        _line(pdf, f"根拠法令　{form.legal_basis}", size=SMALL_PT + 1)
        pdf.ln(1)
    for section in form.sections:
        if isinstance(section, KeyValueTable):
            _key_value(pdf, section)
        elif isinstance(section, ListTable):
            _list(pdf, section)
        elif isinstance(section, Paragraph):
            _heading(pdf, section.heading)
            _line(pdf, section.text)
            pdf.ln(1)
    if form.closing:
        pdf.ln(3)
        _line(pdf, form.closing, size=SMALL_PT + 1)
    return bytes(pdf.output(output_producer_class=_EmbeddingProducer))
