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


def test_a_sheet_photographed_at_an_angle_is_flattened_its_table_a_rectangle_again():
    """The keystone of a photo taken at an angle (the sheet's top a sixth narrower than its
    bottom) leans rules by different angles across the page: the sheet is mapped back to a
    rectangle, and boxes still map to the photo's pixels."""
    photo, sheet_to_photo = photographed(table_page(rule_width=1), background=70)
    prepared = prepare_page(photo)
    table = np.float64(
        [[[COLUMNS[0], TOP], [COLUMNS[3], TOP], [COLUMNS[3], TOP + ROWS * ROW_H], [COLUMNS[0], TOP + ROWS * ROW_H]]]
    )
    in_photo = cv2.perspectiveTransform(table, sheet_to_photo)
    (top_left, top_right, bottom_right, bottom_left) = cv2.perspectiveTransform(
        in_photo, np.linalg.inv(prepared.to_original)
    )[0]
    top, bottom = top_right[0] - top_left[0], bottom_right[0] - bottom_left[0]
    assert abs(top - bottom) < 0.01 * bottom  # 16 % apart in the photo
    assert abs(top_left[0] - bottom_left[0]) < 4 and abs(top_left[1] - top_right[1]) < 4
    assert prepared.original_box((0.0, 0.0, 10.0, 10.0))[0] > 0.05 * photo.image.shape[1]  # the desk is cut off
