"""A red seal stamped over a 填报单位 line: its lettering is read round its top, through the
black print under it, on a page scanned skewed."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixtures.fonts import Face, load_font
from fixtures.seal import seal_mask, stamp
from worker.pipeline.load import PageImage
from worker.pipeline.preprocess import prepare_page
from worker.pipeline.seal_lettering import read_lettering

DPI = 200.0
SEAL_RED = (205, 30, 35)


def _stamped_unit_line(printed: str, name: str, angle: float, skew: float, code: str | None) -> PageImage:
    """An A5-ish page: a unit line in black, a red seal of `name` over it, scanned turned by `skew`."""
    page = Image.new("RGB", (1400, 1000), "white")
    draw = ImageDraw.Draw(page)
    font = load_font(Face("Noto Serif CJK SC", "Regular"), 40)
    draw.text((120, 440), f"填报单位（盖章）：{printed}", font=font, fill="black")
    for y in (560, 640, 720):  # the top of a table below it, for the deskew to go by
        draw.line((100, y, 1300, y), fill="black", width=3)
    image = np.asarray(page).copy()
    mask = seal_mask(name, radius=0.8 * DPI, angle=angle, rng=np.random.default_rng(7), face_index=0, code=code)
    stamp(image, mask, (700.0, 440.0), SEAL_RED, 0.95)
    turn = cv2.getRotationMatrix2D((700, 500), skew, 1.0)
    image = cv2.warpAffine(image, turn, (1400, 1000), borderValue=(255, 255, 255))
    return PageImage(number=1, image=cv2.cvtColor(image, cv2.COLOR_RGB2BGR), dpi=DPI, is_color=True)


@pytest.mark.parametrize(
    ("printed", "angle", "skew", "code"),
    [
        ("余姚市环境保护局", 0.0, 0.0, None),
        ("余姚市环境保护局", 12.0, 1.5, "3302810012345"),
        ("余姚市环境保护局", -15.0, -1.0, None),
        ("宁海县体育局", 0.0, 0.5, None),  # the black print under the seal is not what is read
    ],
    ids=["upright", "turned_with_its_number", "turned_the_other_way", "over_another_name"],
)
def test_a_red_seal_over_the_unit_line_prints_its_name_read_round_its_top(extractor, printed, angle, skew, code):
    prepared = prepare_page(_stamped_unit_line(printed, "余姚市环境保护局", angle, skew, code))
    (seal,) = prepared.seals
    assert seal.kind == "red" and seal.lettering is not None
    assert read_lettering(seal, extractor.engine) == "余姚市环境保护局"


def test_a_seal_without_its_ink_reads_as_nothing(extractor):
    prepared = prepare_page(_stamped_unit_line("余姚市环境保护局", "余姚市环境保护局", 0.0, 0.0, None))
    (seal,) = prepared.seals
    blank = type(seal)(box=seal.box, kind=seal.kind, lettering=np.zeros_like(seal.lettering))
    assert read_lettering(blank, extractor.engine) == ""
    assert read_lettering(type(seal)(box=seal.box, kind=seal.kind), extractor.engine) == ""


def test_a_pale_seal_come_apart_in_pieces_is_one_seal():
    page = _stamped_unit_line("余姚市环境保护局", "余姚市环境保护局", 0.0, 0.0, None)
    image = page.image
    redness = cv2.subtract(image[..., 2], np.maximum(image[..., 0], image[..., 1]))
    faded = (redness > 40) & ((np.abs(np.arange(1000)[:, None] - 440) < 30) | (np.abs(np.arange(1400) - 700) < 30))
    image[faded] = 255  # the seal's ink gone along a cross through it: four quarters left
    (seal,) = prepare_page(page).seals
    x0, y0, x1, y1 = seal.box
    assert abs((x0 + x1) / 2 - 700) < 8 and abs((y0 + y1) / 2 - 440) < 8
    assert abs((x1 - x0) - 2 * 0.8 * DPI) < 20  # the whole seal, not a quarter of it
