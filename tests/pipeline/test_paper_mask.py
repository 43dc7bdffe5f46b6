"""A phone photo with a shadow over part of the sheet: the shaded paper is still paper."""

from __future__ import annotations

import cv2
import numpy as np

from tests.pipeline.drawing import COLUMNS, ROW_H, ROWS, TOP, photographed, table_page
from worker.pipeline.layout import find_grid
from worker.pipeline.load import PageImage
from worker.pipeline.preprocess import paper_mask, prepare_page


def _shadowed(photo: PageImage, darkness: float) -> PageImage:
    """A soft-edged shadow (a hand, the phone) over the lower part of the photo, desk and
    sheet alike."""
    h, w = photo.image.shape[:2]
    shade = np.zeros((h, w), np.float32)
    shade[int(h * 0.3) :, :] = 1.0
    shade = cv2.GaussianBlur(shade, (0, 0), h * 0.03)
    gain = (1.0 - darkness * shade)[:, :, None]
    image = np.clip(photo.image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return PageImage(number=photo.number, image=image, dpi=photo.dpi, is_color=photo.is_color)


def test_paper_in_a_shadow_is_inside_the_sheet_and_the_desk_is_not():
    photo, sheet_to_photo = photographed(table_page(rule_width=1), background=110)
    shaded = _shadowed(photo, darkness=0.5)
    gray = cv2.cvtColor(shaded.image, cv2.COLOR_BGR2GRAY)
    paper = paper_mask(gray, shaded.dpi)
    assert paper is not None
    corners = np.float64([[[COLUMNS[0], TOP], [COLUMNS[3], TOP + ROWS * ROW_H], [COLUMNS[0], TOP + ROWS * ROW_H]]])
    for x, y in cv2.perspectiveTransform(corners, sheet_to_photo)[0]:
        assert paper[round(y), round(x)] == 255
    h, w = gray.shape
    assert paper[h - 5, w - 5] == 0 and paper[h - 5, 5] == 0 and paper[5, 5] == 0


def test_every_row_of_a_table_half_in_a_shadow_is_found():
    photo, _ = photographed(table_page(rule_width=1), background=110)
    grid = find_grid(prepare_page(_shadowed(photo, darkness=0.5)))
    assert grid is not None and grid.rows == ROWS
