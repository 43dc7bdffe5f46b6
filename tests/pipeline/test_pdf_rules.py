"""Rules taken from a PDF's vector drawing, and the pages whose rules are found on the image."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from docextract.settings import LimitSettings
from fixtures.digital import generate_digital_document
from tests.conftest import SAMPLES
from worker.pipeline.layout import find_grid
from worker.pipeline.load import PageImage, open_document
from worker.pipeline.matrix import find_tables
from worker.pipeline.pdfrules import DrawnRule, drawn_rules, printed
from worker.pipeline.preprocess import PreparedPage, prepare_page

LIMITS = LimitSettings()
SEED = 3


def _pdf(content: bytes, width: int = 200, height: int = 200) -> bytes:
    """A one-page PDF drawing `content` (no resources: paths and inline images only)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (width, height),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _rules_of(content: bytes) -> tuple[DrawnRule, ...] | None:
    document = pdfium.PdfDocument(_pdf(content))
    try:
        return drawn_rules(document[0], 1.0, 200.0, pdfium_c)  # 1 pixel a point: y runs down from 200
    finally:
        document.close()


def _key(rule: DrawnRule) -> tuple[bool, float]:
    return rule.horizontal, round(rule.position, 1)


def test_stroked_lines_thin_filled_bars_and_outlined_boxes_are_rules():
    rules = _rules_of(
        b"0 G 2 w 10 100 m 190 100 l S\n"  # a horizontal rule at y = 200 - 100
        b"0 g 50 20 1 160 re f\n"  # a vertical bar filled 1 pt wide: x 50..51, y 20..180
        b"0 G 1 w 120 20 60 30 re S\n"  # a cell's outline: four rules
        b"0 g 100 130 40 40 re f\n"  # a filled square is shading, not a rule
        b"1 G 10 60 m 190 60 l S\n"  # white: paper, not ink
        b"0 G 10 30 m 100 80 l S\n"  # a slanted line
        b"0 G 10 10 m 30 40 60 40 80 10 c S\n"  # a curve
    )
    assert rules is not None
    by_key = {_key(r): r for r in rules}
    vertical, horizontal = (
        [(False, 50.5), (False, 120.0), (False, 180.0)],
        [(True, 100.0), (True, 150.0), (True, 180.0)],
    )
    assert sorted(by_key) == vertical + horizontal
    rule = by_key[(True, 100.0)]
    assert rule.width == pytest.approx(2.0)
    assert (rule.start, rule.end) == pytest.approx((10.0, 190.0), abs=2)  # pdfium's bounds take in the stroke's ends
    bar = by_key[(False, 50.5)]
    assert (bar.start, bar.end, bar.width) == pytest.approx((20.0, 180.0, 1.0))
    box_top = by_key[(True, 150.0)]  # y 50 up the page is 150 down it
    assert (box_top.start, box_top.end) == pytest.approx((120.0, 180.0), abs=1.5)


def test_pieces_of_one_path_keep_the_gap_between_them():
    rules = _rules_of(b"0 G 1 w 10 100 m 60 100 l 120 100 m 190 100 l S")
    assert rules is not None
    assert [(r.horizontal, r.position, r.start, r.end) for r in rules] == [
        (True, 100.0, 10.0, 60.0),
        (True, 100.0, 120.0, 190.0),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"0 G 1 w [3 3] 0 d 10 100 m 190 100 l S",  # a dashed rule prints in pieces
        b"0 G 1 w 10 100 m 190 100 l S\nq 20 0 0 20 30 30 cm BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI Q",  # an image
    ],
)
def test_a_page_drawing_more_than_text_and_plain_paths_has_no_drawn_rules(content):
    assert _rules_of(content) is None


def test_rules_are_used_only_where_the_page_shows_them():
    rule = DrawnRule(True, 50.0, 20.0, 180.0, 2.0)
    ink = np.zeros((100, 200), np.uint8)
    assert not printed((rule,), ink)
    ink[49:52, 20:181] = 255
    assert printed((rule,), ink)
    ink[49:52, 60:181] = 0  # three quarters of it missing (clipped away, painted over)
    assert not printed((rule,), ink)
    assert printed((), ink)


@pytest.fixture(scope="module")
def digital(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("digital_rules")
    for template in ("GK2008", "GK2021"):
        generate_digital_document(SEED, 0, out, template, "digital")
    generate_digital_document(SEED, 0, out, "GK2008", "searchable_scan")
    return out


def _trusted(page: PageImage) -> PageImage:
    assert page.text_layer is not None
    return replace(page, text_layer=replace(page.text_layer, trusted=True))


def _on_raster(prepared: PreparedPage) -> PreparedPage:
    return replace(prepared, drawn_rules=None)  # a fresh page: its strokes found on `ink`


def _cells(prepared: PreparedPage) -> list[list[tuple[int, int, int, int]]]:
    return [[(c.top, c.bottom, c.left, c.right) for c in t.cells] for t in find_tables(prepared)]


@pytest.mark.parametrize("stem", ["digital_gk2008_001", "digital_gk2021_001"])
def test_a_digital_pages_drawn_rules_give_the_tables_the_image_gives(digital, stem):
    with open_document(digital / f"{stem}.pdf", LIMITS) as document:
        pages = [prepare_page(_trusted(page)) for page in document.pages()]
    assert all(p.drawn_rules is not None for p in pages)
    assert any(find_tables(p) for p in pages)
    for prepared in pages:
        raster = _on_raster(prepared)
        assert _cells(prepared) == _cells(raster)
        for drawn, found in zip(find_tables(prepared), find_tables(raster), strict=True):
            boxes = np.array([c.box for c in drawn.cells]) - np.array([c.box for c in found.cells])
            assert np.abs(boxes).max() <= 1.5
        grid, raster_grid = find_grid(prepared), find_grid(raster)
        assert (grid is None) == (raster_grid is None)
        if grid is not None and raster_grid is not None:
            assert grid.rows == raster_grid.rows
            assert np.abs(np.array(grid.frame) - np.array(raster_grid.frame)).max() <= 1.5


def test_drawn_rules_not_on_the_image_leave_the_page_to_the_raster(digital):
    with open_document(digital / "digital_gk2008_001.pdf", LIMITS) as document:
        page = _trusted(document.page(3))
    assert page.drawn_rules
    blank = replace(page, image=np.full_like(page.image, 255))
    prepared = prepare_page(blank)
    assert prepared.drawn_rules is None
    assert find_tables(prepared) == [] and find_grid(prepared) is None


def test_scanned_pages_take_their_rules_from_the_image(digital):
    with open_document(digital / "searchable_scan_gk2008_001.pdf", LIMITS) as document:
        pages = list(document.pages())
    assert all(p.text_layer is not None and p.text_layer.invisible for p in pages)
    assert all(p.drawn_rules is None for p in pages)  # another tool's OCR over a scan: no drawing
    for name in ("gk2008-seal.pdf", "gk2021.pdf"):
        with open_document(SAMPLES / name, LIMITS) as document:
            page = document.page(1)
        assert page.text_layer is None and page.drawn_rules is None
        assert prepare_page(page).drawn_rules is None
