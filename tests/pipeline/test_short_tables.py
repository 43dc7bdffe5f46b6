"""Tables only a row or two high (the last page of a table that goes on) are found, and
short strokes of text or a page's border are not taken for one."""

from __future__ import annotations

import cv2
import numpy as np

from tests.pipeline.drawing import COLUMNS, DPI, ROW_H, TOP, photographed, table_page
from worker.pipeline.layout import find_grid
from worker.pipeline.load import PageImage
from worker.pipeline.preprocess import prepare_page


def _short_table(row_height: int, rows: int) -> PageImage:
    """A heading, then a label | unit | value table of `rows` rows `row_height` high with
    characters in its cells (blocks the size of 9 pt type)."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    for y in range(120, 260, 40):
        _characters(image, 300, 900, y, 18)
    bottom = TOP + rows * row_height
    for i in range(rows + 1):
        cv2.line(image, (COLUMNS[0], TOP + i * row_height), (COLUMNS[3], TOP + i * row_height), (0, 0, 0), 2)
    for x in COLUMNS:
        cv2.line(image, (x, TOP), (x, bottom), (0, 0, 0), 2)
    for i in range(rows):
        y = TOP + i * row_height + (row_height - 12) // 2
        _characters(image, COLUMNS[0] + 30, COLUMNS[0] + 400, y, 12)
        _characters(image, COLUMNS[2] + 100, COLUMNS[2] + 140, y, 12)
    return PageImage(number=1, image=image, dpi=DPI, is_color=False)


def _characters(image: np.ndarray, x0: int, x1: int, y: int, size: int) -> None:
    for x in range(x0, x1 - size, size + size // 2):
        image[y : y + size, x : x + size] = 0


def test_a_header_and_one_row_continued_on_a_page_are_found():
    page = table_page(rows=2)  # 0.53 inch: shorter than the column rules a page is searched for
    grid = find_grid(prepare_page(page))
    assert grid is not None and grid.rows == 2
    x0, y0, x1, y1 = (float(v) for v in grid.cell(1, "value").coordinates)
    assert abs(x0 - COLUMNS[2]) <= 3 and abs(x1 - COLUMNS[3]) <= 3
    assert abs(y0 - (TOP + ROW_H)) <= 3 and abs(y1 - (TOP + 2 * ROW_H)) <= 3


def test_a_table_shorter_than_a_line_of_text_is_wide_is_found():
    grid = find_grid(prepare_page(_short_table(row_height=24, rows=2)))  # 0.32 inch
    assert grid is not None and grid.rows == 2


def test_a_photographed_short_table_is_found():
    photo, _ = photographed(table_page(rows=3, rule_width=1))
    grid = find_grid(prepare_page(photo))
    assert grid is not None and grid.rows == 3


def test_a_short_table_is_found_though_a_far_longer_rule_stands_beside_it():
    page = table_page(rows=3)  # a binding line down the margin: it meets none of the rows
    cv2.line(page.image, (40, 50), (40, 1700), (0, 0, 0), 2)
    grid = find_grid(prepare_page(page))
    assert grid is not None and grid.rows == 3


def test_a_column_rule_broken_into_short_pieces_is_one_rule():
    page = table_page()
    right = COLUMNS[3]
    for y in range(TOP + 80, TOP + 480, 100):  # pieces of 80 px (0.53 inch), gaps of 20
        page.image[y : y + 20, right - 3 : right + 4] = 255
    grid = find_grid(prepare_page(page))
    assert grid is not None and grid.rows == 12


def test_a_framed_page_of_text_with_a_large_title_has_no_grid():
    image = np.full((1754, 1241, 3), 255, np.uint8)
    cv2.rectangle(image, (60, 60), (1180, 1690), (0, 0, 0), 2)  # the page's border
    for x in range(300, 940, 40):  # a title in large type: upright strokes 0.3 inch long
        image[120:165, x : x + 6] = 0
        image[140:146, x - 10 : x + 16] = 0
    for y in range(260, 1600, 45):  # paragraphs
        image[y : y + 18, 150:1100] = 0
    assert find_grid(prepare_page(PageImage(number=1, image=image, dpi=DPI, is_color=False))) is None
