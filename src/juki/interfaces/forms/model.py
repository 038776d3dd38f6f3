"""What a printed form (帳票) says, independent of how it is laid out.

A :class:`Form` is plain data: the interface that prints a disclosure, a provision-status answer or a
letter fills one in from a service's result, and :func:`juki.interfaces.forms.render_form` lays it out.
Every text is printed exactly as given (no Unicode normalisation: DOMAIN §6, U+FA19 and IVS survive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeyValueTable:
    """A two-column table: item name | value (e.g. the disclosed items of one person)."""

    rows: Sequence[tuple[str, str]]
    heading: str = ""


@dataclass(frozen=True)
class ListTable:
    """A table with a header row repeated on every page (e.g. one row per provision).

    ``widths`` are relative column widths (default: equal); ``empty`` is printed when there is no row,
    so a form never shows a bare header that a reader could take for a printing fault.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    heading: str = ""
    widths: Sequence[float] | None = None
    empty: str = "該当なし"


@dataclass(frozen=True)
class Paragraph:
    """Running text (wrapped to the page width)."""

    text: str
    heading: str = ""


Section = KeyValueTable | ListTable | Paragraph


@dataclass(frozen=True)
class Form:
    """One printed document.

    ``issue_number`` and ``issued_on`` (already formatted, e.g. 和暦) print at the top right and in
    every page's footer, so a loose page can be matched to its document; ``handling_note`` (取扱注意)
    prints in a box at the top left of every page when set.
    """

    title: str
    issue_number: str
    issued_on: str
    issuer: str  # the issuing office: the configured prefecture's Offices.issuer (its 知事)
    sections: Sequence[Section] = field(default_factory=tuple)
    recipient: str = ""  # printed as "<recipient>　様"
    handling_note: str = ""
    legal_basis: str = ""  # printed under the title block: 根拠法令
    closing: str = ""  # a last paragraph after the sections (e.g. where to ask)
