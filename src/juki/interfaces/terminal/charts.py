"""Server-rendered SVG charts for the statistics page (F1-8).

The CSP stays strict (no inline script or style): a chart is inline SVG markup built here, styled
only with presentation attributes and classes of static/style.css. Every text is escaped; every
chart has a title and a description for screen readers, and the numbers are in the table below
it, so a chart never is the only way to read a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from markupsafe import Markup, escape

MALE: Final = "#3b6ea8"
FEMALE: Final = "#c0504d"
BAR: Final = "#4f7f3f"
FONT: Final = 'font-family="sans-serif"'


def _fmt(n: int) -> str:
    return f"{n:,}"


def _svg(width: int, height: int, title: str, body: list[str], chart_id: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{escape(chart_id)}-title">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def pyramid(chart_id: str, title: str, rows: Sequence[tuple[str, int, int]]) -> Markup:
    """A population pyramid: one row per band (youngest at the bottom), men left, women right."""
    row_h, label_w, half = 16, 70, 230
    width, top = label_w + 2 * half + 20, 24
    height = top + row_h * len(rows) + 10
    peak = max([1, *(max(m, f) for _, m, f in rows)])
    centre = half + 10
    body = [
        f'<text x="{centre - 6}" y="16" text-anchor="end" font-size="12" {FONT} fill="{MALE}">男</text>',
        f'<text x="{centre + label_w + 6}" y="16" font-size="12" {FONT} fill="{FEMALE}">女</text>',
    ]
    for i, (label, men, women) in enumerate(reversed(rows)):
        y = top + i * row_h
        wm, ww = round(men / peak * (half - 10)), round(women / peak * (half - 10))
        body.append(
            f'<rect x="{centre - wm}" y="{y + 2}" width="{wm}" height="{row_h - 4}" fill="{MALE}">'
            f"<title>{escape(label)} 男 {_fmt(men)}人</title></rect>"
        )
        body.append(
            f'<rect x="{centre + label_w}" y="{y + 2}" width="{ww}" height="{row_h - 4}" fill="{FEMALE}">'
            f"<title>{escape(label)} 女 {_fmt(women)}人</title></rect>"
        )
        body.append(
            f'<text x="{centre + label_w / 2}" y="{y + row_h - 4}" text-anchor="middle" font-size="11" '
            f"{FONT}>{escape(label)}</text>"
        )
    return _svg(width, height, title, body, chart_id)


def hbars(chart_id: str, title: str, rows: Sequence[tuple[str, int]], unit: str = "人") -> Markup:
    """Horizontal bars with their label and value, in the given order."""
    row_h, label_w, bar_w = 18, 150, 330
    width, height = label_w + bar_w + 90, row_h * len(rows) + 10
    peak = max([1, *(v for _, v in rows)])
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        w = round(value / peak * bar_w)
        body.append(
            f'<text x="{label_w - 6}" y="{y + row_h - 5}" text-anchor="end" font-size="11" {FONT}>'
            f"{escape(label)}</text>"
        )
        body.append(
            f'<rect x="{label_w}" y="{y + 2}" width="{w}" height="{row_h - 4}" fill="{BAR}">'
            f"<title>{escape(label)} {_fmt(value)}{escape(unit)}</title></rect>"
        )
        body.append(
            f'<text x="{label_w + w + 4}" y="{y + row_h - 5}" font-size="11" {FONT}>{_fmt(value)}</text>'
        )
    return _svg(width, height, title, body, chart_id)


def columns(chart_id: str, title: str, rows: Sequence[tuple[str, int]], unit: str = "件") -> Markup:
    """Vertical bars over time (months or days), labels under the bars."""
    col_w, plot_h, left = max(14, 560 // max(1, len(rows))), 150, 50
    width, height = left + col_w * len(rows) + 10, plot_h + 50
    peak = max([1, *(v for _, v in rows)])
    body = [
        f'<line x1="{left}" y1="{plot_h + 10}" x2="{width - 5}" y2="{plot_h + 10}" stroke="#888"/>',
        f'<text x="{left - 6}" y="18" text-anchor="end" font-size="11" {FONT}>{_fmt(peak)}</text>',
        f'<text x="{left - 6}" y="{plot_h + 10}" text-anchor="end" font-size="11" {FONT}>0</text>',
    ]
    every = max(1, len(rows) // 12)
    for i, (label, value) in enumerate(rows):
        h = round(value / peak * plot_h)
        x = left + i * col_w
        body.append(
            f'<rect x="{x + 2}" y="{plot_h + 10 - h}" width="{col_w - 4}" height="{h}" fill="{BAR}">'
            f"<title>{escape(label)} {_fmt(value)}{escape(unit)}</title></rect>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + col_w / 2}" y="{plot_h + 26}" text-anchor="middle" font-size="10" '
                f"{FONT}>{escape(label)}</text>"
            )
    return _svg(width, height, title, body, chart_id)
