"""Reading PDFs as a person would, for the form tests: pdftoppm (poppler-utils) renders a page to
PNG, pdftotext and pypdf return its text, and an approved reference image is compared with a tolerance.

Approved references live in tests/interfaces/forms/reference/. They change only deliberately:
``JUKI_APPROVE_FORMS=1 PYTHONPATH=src .venv/bin/pytest tests/interfaces/forms tests/browser -k reference``
rewrites them from the current rendering (look at the new PNG before committing it).
"""

from __future__ import annotations

import os
import subprocess
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageChops
from pypdf import PdfReader

REFERENCE_DIR = Path(__file__).parent / "reference"
#: A pixel "differs" when its grey level moves by more than this; a page may differ in this share of
#: its pixels (anti-aliasing may change between poppler versions; one changed character in a name moves ~0.01 %).
PIXEL_DELTA = 64
MAX_DIFFERING_SHARE = 0.00003


def render_page(pdf: bytes, page: int = 1, dpi: int = 100) -> Image.Image:
    """Page ``page`` of ``pdf`` as a greyscale image, rendered by pdftoppm."""
    out = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-gray", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(BytesIO(out)).convert("L")


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


def library_text(pdf: bytes) -> str:
    """Every page's text through pypdf (which keeps U+3000 where pdftotext prints an ASCII space)."""
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(BytesIO(pdf)).pages)


def differing_share(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).point(lambda v: 255 if v > PIXEL_DELTA else 0)
    hist = diff.histogram()
    return hist[255] / (a.size[0] * a.size[1])


def assert_matches_reference(image: Image.Image, name: str) -> None:
    """``image`` equals the approved reference ``name``.png within the tolerance (or, with
    JUKI_APPROVE_FORMS=1, becomes the new reference)."""
    path = REFERENCE_DIR / f"{name}.png"
    if os.environ.get("JUKI_APPROVE_FORMS") == "1":
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        image.save(path, optimize=True)
    assert path.exists(), f"no approved reference {path}: run with JUKI_APPROVE_FORMS=1 and look at it"
    share = differing_share(image, Image.open(path).convert("L"))
    assert share <= MAX_DIFFERING_SHARE, f"{name}: {share:.4%} of the pixels differ from the reference"
